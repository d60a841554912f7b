//! The `Link` header (RFC 8288) that Distribution registries page `_catalog` and
//! `tags/list` with: `</v2/_catalog?last=b&n=100>; rel="next"`.

/// The target of the `rel="next"` link of a `Link` header value, if any. Targets are in
/// angle brackets and may hold commas and semicolons; `rel` may list several relation
/// types separated by spaces, and may be quoted or a bare token.
pub fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let start = rest.find('<')?;
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let target = &after[..end];
        let params_start = &after[end + 1..];
        // Parameters run until the next link, which starts after a comma outside quotes.
        let (params, remaining) = split_params(params_start);
        if params.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("rel")
                && value
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        }) {
            return Some(target.to_owned());
        }
        rest = remaining;
    }
}

/// `; name=value; name="value"` up to the comma ending this link.
fn split_params(s: &str) -> (Vec<(String, String)>, &str) {
    let mut params = Vec::new();
    let mut in_quotes = false;
    let mut end = s.len();
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    for part in s[..end].split(';') {
        let Some((name, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        params.push((name.trim().to_owned(), value.to_owned()));
    }
    (params, &s[(end + 1).min(s.len())..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_catalog_link() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=team%2Fapp&n=2>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=team%2Fapp&n=2")
        );
    }

    #[test]
    fn next_among_several_links_with_commas_in_targets() {
        let header = r#"<https://r.example/v2/a/tags/list?n=1&last=x,y>; rel="prev", <https://r.example/v2/a/tags/list?n=1&last=z;w>; title="a, b"; rel="last next""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://r.example/v2/a/tags/list?n=1&last=z;w")
        );
        assert_eq!(next_link("</v2/x>; rel=next").as_deref(), Some("/v2/x"));
        assert_eq!(next_link(r#"</v2/x>; rel="prev""#), None);
        assert_eq!(next_link("garbage <no end"), None);
        assert_eq!(next_link(""), None);
    }
}
