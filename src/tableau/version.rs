//! REST API versions (`3.24`), compared as numbers so that 3.9 < 3.10.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

impl ApiVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// Parses `3.24`; a bare `3` is `3.0`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (major, minor) = text.split_once('.').unwrap_or((text, "0"));
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_numerically() {
        let v = |s| ApiVersion::parse(s).expect("version");
        assert!(v("3.9") < v("3.10"));
        assert!(v("2.8") < v("3"));
        assert_eq!(v(" 3.24 ").to_string(), "3.24");
        assert_eq!(ApiVersion::parse("3.x"), None);
        assert_eq!(ApiVersion::parse(""), None);
    }
}
