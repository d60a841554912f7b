//! Pagination that cannot loop: a token the API already gave is an error.

use std::collections::HashSet;

use crate::ExtractError;

/// Tracks the continuation tokens of one paginated listing.
#[derive(Debug, Default)]
pub struct TokenGuard {
    api: &'static str,
    seen: HashSet<String>,
    pages: u32,
}

impl TokenGuard {
    pub fn new(api: &'static str) -> Self {
        Self {
            api,
            seen: HashSet::new(),
            pages: 0,
        }
    }

    /// Pages read so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Record a page and its continuation token. Returns the token to ask for next, or
    /// `None` at the end; an empty token counts as the end, as AWS APIs mean it.
    pub fn next(&mut self, token: Option<&str>) -> Result<Option<String>, ExtractError> {
        self.pages += 1;
        match token {
            None | Some("") => Ok(None),
            Some(token) => {
                if !self.seen.insert(token.to_owned()) {
                    return Err(ExtractError::RepeatedToken {
                        api: self.api,
                        token: token.to_owned(),
                        pages: self.pages,
                    });
                }
                Ok(Some(token.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_token_is_an_error_not_a_loop() {
        let mut guard = TokenGuard::new("ListThings");
        assert_eq!(guard.next(Some("a")).expect("first"), Some("a".to_owned()));
        assert_eq!(guard.next(Some("b")).expect("second"), Some("b".to_owned()));
        let err = guard.next(Some("a")).expect_err("repeat");
        assert!(err.to_string().contains("ListThings"), "{err}");
        assert_eq!(guard.next(Some("")).expect("end"), None);
        assert_eq!(guard.pages(), 4);
    }
}
