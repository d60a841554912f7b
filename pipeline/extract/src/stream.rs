//! Reading exported files one record at a time: a JSON document whose records are the
//! top-level array or an array under a known key, or JSON lines, without holding the
//! document in memory. [`stream_document`] is the one entry point; the importers say what
//! a record is and what an object without the array means.

use std::fmt;
use std::io::{BufRead, Read};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The longest first line taken as one JSON line when telling JSON lines from one
/// document. A finding is at most a few hundred KiB, so a longer first line is a document.
const FIRST_LINE_LIMIT: u64 = 16 * 1024 * 1024;

/// What a document held besides the records handed to the callback.
#[derive(Debug)]
pub enum Document {
    /// Records were read from the top-level array, from the array under a key, or one per
    /// line.
    Records,
    /// A top-level object with none of the keys: every member, for the caller to interpret
    /// (one record, or a document of another shape).
    Object(Map<String, Value>),
    /// A top-level string, number, boolean or null.
    Scalar,
}

/// How reading a document failed. The caller turns this into the message it shows.
#[derive(Debug)]
pub enum StreamError {
    /// The callback rejected record `index`; its message as given.
    Record(String),
    /// The value under `key` is not an array.
    NotArray(String),
    /// Line `line` (1-based) of a JSON lines file.
    Line { line: usize, message: String },
    /// The bytes are not JSON (or could not be read).
    Json(serde_json::Error),
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Record(message) => f.write_str(message),
            Self::NotArray(key) => write!(f, "{key} is not an array"),
            Self::Line { line, message } => write!(f, "line {line}: {message}"),
            Self::Json(error) if error.is_io() => write!(f, "cannot be read: {error}"),
            Self::Json(error) => write!(f, "not valid JSON: {error}"),
        }
    }
}

/// The callback each record goes to, with its 0-based position in the file.
pub type OnRecord<'a> = dyn FnMut(usize, Value) -> Result<(), String> + 'a;

/// Read one document from `input` and hand each record to `on_record` as it is parsed.
///
/// Records are the elements of a top-level array, of the array under any of `keys`
/// (wherever the key sits among the object's members), or, when `json_lines` is set and
/// the first line is a whole JSON object that has none of `keys`, one object per line.
/// Other members of a top-level object are kept and returned, so a caller can read a
/// small object (one record, a rule event) itself. A UTF-8 byte order mark is skipped.
pub fn stream_document(
    mut input: impl BufRead,
    keys: &[&str],
    json_lines: bool,
    on_record: &mut OnRecord<'_>,
) -> Result<Document, StreamError> {
    skip_byte_order_mark(&mut input).map_err(|e| StreamError::Json(serde_json::Error::io(e)))?;

    let mut first = Vec::new();
    if json_lines {
        (&mut input)
            .take(FIRST_LINE_LIMIT)
            .read_until(b'\n', &mut first)
            .map_err(|e| StreamError::Json(serde_json::Error::io(e)))?;
        if first.ends_with(b"\n") && is_line_record(&first, keys) {
            return read_json_lines(first, input, on_record);
        }
    }

    let mut failure = None;
    let mut de = serde_json::Deserializer::from_reader(std::io::Cursor::new(first).chain(input));
    let result = TopLevel {
        keys,
        on_record,
        failure: &mut failure,
    }
    .deserialize(&mut de)
    .and_then(|document| de.end().map(|()| document));
    match (result, failure) {
        (_, Some(failure)) => Err(failure),
        (Ok(document), None) => Ok(document),
        (Err(error), None) => Err(StreamError::Json(error)),
    }
}

fn skip_byte_order_mark(input: &mut impl BufRead) -> std::io::Result<()> {
    let buffered = input.fill_buf()?;
    if buffered.starts_with(b"\xef\xbb\xbf") {
        input.consume(3);
    }
    Ok(())
}

/// Whether a first line is one record of a JSON lines file: a whole object that is not a
/// wrapper holding the records under one of `keys`.
fn is_line_record(line: &[u8], keys: &[&str]) -> bool {
    match serde_json::from_slice::<std::collections::HashMap<String, IgnoredAny>>(line) {
        Ok(object) => !keys.iter().any(|key| object.contains_key(*key)),
        Err(_) => false,
    }
}

fn read_json_lines(
    first: Vec<u8>,
    input: impl BufRead,
    on_record: &mut OnRecord<'_>,
) -> Result<Document, StreamError> {
    let mut records = 0;
    let lines = std::iter::once(Ok(first)).chain(input.split(b'\n'));
    for (n, line) in lines.enumerate() {
        let line = line.map_err(|e| StreamError::Json(serde_json::Error::io(e)))?;
        let text = std::str::from_utf8(&line).map_err(|e| StreamError::Line {
            line: n + 1,
            message: format!("not UTF-8 text: {e}"),
        })?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => {
                on_record(records, value).map_err(StreamError::Record)?;
                records += 1;
            }
            Ok(_) => {
                return Err(StreamError::Line {
                    line: n + 1,
                    message: "a JSON line is not a record object".to_owned(),
                });
            }
            Err(e) => {
                return Err(StreamError::Line {
                    line: n + 1,
                    message: format!("not valid JSON: {e}"),
                });
            }
        }
    }
    Ok(Document::Records)
}

/// The whole document: an array of records, an object, or a scalar.
struct TopLevel<'a, 'b> {
    keys: &'a [&'a str],
    on_record: &'a mut OnRecord<'b>,
    failure: &'a mut Option<StreamError>,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_, '_> {
    type Value = Document;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Document, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Document, A::Error> {
        let mut records = 0;
        each_record(seq, self.on_record, self.failure, &mut records)?;
        Ok(Document::Records)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut members = Map::new();
        let mut records = None;
        while let Some(key) = map.next_key::<String>()? {
            if self.keys.contains(&key.as_str()) {
                let count = records.get_or_insert(0);
                map.next_value_seed(RecordArray {
                    key: &key,
                    on_record: &mut *self.on_record,
                    failure: &mut *self.failure,
                    records: count,
                })?;
            } else {
                members.insert(key, map.next_value()?);
            }
        }
        Ok(match records {
            Some(_) => Document::Records,
            None => Document::Object(members),
        })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Document, E> {
        Ok(Document::Scalar)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Document, E> {
        Ok(Document::Scalar)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Document, E> {
        Ok(Document::Scalar)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Document, E> {
        Ok(Document::Scalar)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Document, E> {
        Ok(Document::Scalar)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document::Scalar)
    }
}

/// Hand every element of a sequence to the callback, numbering on from `records`.
fn each_record<'de, A: SeqAccess<'de>>(
    mut seq: A,
    on_record: &mut OnRecord<'_>,
    failure: &mut Option<StreamError>,
    records: &mut usize,
) -> Result<(), A::Error> {
    while let Some(value) = seq.next_element::<Value>()? {
        if let Err(message) = on_record(*records, value) {
            *failure = Some(StreamError::Record(message));
            return Err(de::Error::custom("record rejected"));
        }
        *records += 1;
    }
    Ok(())
}

/// The value under one of the keys: it must be an array, whose elements are records.
struct RecordArray<'a, 'b> {
    key: &'a str,
    on_record: &'a mut OnRecord<'b>,
    failure: &'a mut Option<StreamError>,
    records: &'a mut usize,
}

impl RecordArray<'_, '_> {
    fn not_array<E: de::Error>(self) -> Result<(), E> {
        *self.failure = Some(StreamError::NotArray(self.key.to_owned()));
        Err(E::custom("not an array"))
    }
}

impl<'de> DeserializeSeed<'de> for RecordArray<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordArray<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array under {}", self.key)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        each_record(seq, self.on_record, self.failure, self.records)
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_array()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_array()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_array()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_array()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_array()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_array()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records and the returned document of `text`, or the error's message.
    fn read(text: &str, json_lines: bool) -> Result<(Vec<Value>, String), String> {
        let mut seen = Vec::new();
        let document = stream_document(
            text.as_bytes(),
            &["Findings", "findings"],
            json_lines,
            &mut |index, value| {
                assert_eq!(index, seen.len());
                seen.push(value);
                Ok(())
            },
        )
        .map_err(|e| e.to_string())?;
        let document = match document {
            Document::Records => format!("records {}", seen.len()),
            Document::Object(members) => Value::Object(members).to_string(),
            Document::Scalar => "scalar".to_owned(),
        };
        Ok((seen, document))
    }

    #[test]
    fn records_under_a_key_are_read_whatever_the_members_around_them() {
        let text = r#"{"NextToken": "t", "Findings": [{"Id": 1}, {"Id": 2}], "Extra": {"a": [1]}}"#;
        let (records, document) = read(text, true).expect("read");
        assert_eq!(
            records,
            [serde_json::json!({"Id": 1}), serde_json::json!({"Id": 2})]
        );
        assert_eq!(document, "records 2");

        let (records, _) = read("\u{feff}[{\"Id\": 1}]", true).expect("bare array with a BOM");
        assert_eq!(records.len(), 1);
    }

    #[test]
    fn json_lines_are_read_line_by_line_and_errors_name_the_line() {
        let (records, document) =
            read("{\"Id\": 1}\n\n{\"Id\": 2}\r\n{\"Id\": 3}", true).expect("three lines");
        assert_eq!(records.len(), 3);
        assert_eq!(document, "records 3");
        assert_eq!(
            read("{\"Id\": 1}\n{\"Id\": 2", true).expect_err("cut"),
            "line 2: not valid JSON: EOF while parsing an object at line 1 column 8"
        );
        assert_eq!(
            read("{\"Id\": 1}\n[1]\n", true).expect_err("array line"),
            "line 2: a JSON line is not a record object"
        );
        // Without JSON lines the same text is one document with trailing characters.
        assert!(
            read("{\"Id\": 1}\n{\"Id\": 2}\n", false)
                .expect_err("trailing")
                .starts_with("not valid JSON: trailing characters"),
        );
    }

    #[test]
    fn other_shapes_are_returned_for_the_caller_to_judge() {
        let (records, document) =
            read("{\"Id\": \"x\",\n \"ProductArn\": \"p\"}", true).expect("one object");
        assert!(records.is_empty());
        assert_eq!(document, r#"{"Id":"x","ProductArn":"p"}"#);
        assert_eq!(read("42", true).expect("scalar").1, "scalar");
        assert_eq!(
            read(r#"{"Findings": {"Id": 1}}"#, true).expect_err("not an array"),
            "Findings is not an array"
        );
        assert!(
            read(r#"{"Findings": [{"Id": 1}, "#, true)
                .expect_err("cut")
                .starts_with("not valid JSON: EOF while parsing"),
        );
    }

    #[test]
    fn a_rejected_record_stops_the_reading_with_its_message() {
        let mut seen = 0;
        let error = stream_document(
            br#"[{"Id": 1}, {"Id": 2}, {"Id": 3}]"#.as_slice(),
            &[],
            false,
            &mut |index, _| {
                seen += 1;
                if index == 1 {
                    Err("record 1 is bad".to_owned())
                } else {
                    Ok(())
                }
            },
        )
        .expect_err("rejected");
        assert_eq!(error.to_string(), "record 1 is bad");
        assert_eq!(seen, 2, "nothing after the rejected record is read");
    }
}
