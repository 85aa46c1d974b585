//! Counted nouns in what people read: `1 refresh`, `3 refreshes`, never `refresh(es)`.

use std::fmt::Display;

/// `n` and the noun that agrees with it: `count(1, "job", "jobs")` is `1 job`, `count(0, …)`
/// is `0 jobs`. Both forms are given, since English plurals are not regular (`refresh`,
/// `refreshes`; `entry`, `entries`).
pub fn count<N>(n: N, one: &str, many: &str) -> String
where
    N: Copy + Display + PartialEq + From<u8>,
{
    format!("{n} {}", noun(n, one, many))
}

/// The noun alone, agreeing with `n`: `of 1 target`, `of 3 targets`.
pub fn noun<'a, N>(n: N, one: &'a str, many: &'a str) -> &'a str
where
    N: PartialEq + From<u8>,
{
    if n == N::from(1) { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1_usize, "refresh", "refreshes"), "1 refresh");
        assert_eq!(count(3_usize, "refresh", "refreshes"), "3 refreshes");
        assert_eq!(count(0_u64, "request", "requests"), "0 requests");
        assert_eq!(noun(1_u32, "target", "targets"), "target");
        assert_eq!(noun(2_u32, "target", "targets"), "targets");
    }
}
