//! Parsing of the human durations used by flags and env vars (`24h`, `60m`, `90s`, `1h30m`, `0`).

use std::time::Duration;

/// Parses a duration such as `24h`, `60m`, `1h 30m` or `500ms`. A bare number is seconds and `0`
/// is zero. Used as a clap value parser, so a malformed value is a usage error (exit 2).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|err| format!("`{text}` is not a duration like 90s, 60m or 24h ({err})"))
}

/// Formats a duration for people: `850ms`, `12.3s`, `4m 05s`, `2h 03m`, `1430d 21h`. Days start
/// at 48 hours, so the common one-day limits still read `24h 00m` while a replayed event's age
/// reads `1430d 21h` rather than `34341h 19m`.
pub fn format_short(duration: Duration) -> String {
    let millis = duration.as_millis();
    let seconds = duration.as_secs();
    if millis < 1_000 {
        format!("{millis}ms")
    } else if seconds < 60 {
        format!("{:.1}s", duration.as_secs_f64())
    } else if seconds < 3_600 {
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    } else if seconds < 2 * 86_400 {
        format!("{}h {:02}m", seconds / 3_600, (seconds % 3_600) / 60)
    } else {
        format!("{}d {:02}h", seconds / 86_400, (seconds % 86_400) / 3_600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_the_contract_documents() {
        assert_eq!(parse("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("60m"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5_400)));
        assert!(parse("soon").is_err());
        assert!(parse("").is_err());
        assert!(parse("-5m").is_err());
    }

    #[test]
    fn formats_short() {
        assert_eq!(format_short(Duration::from_millis(850)), "850ms");
        assert_eq!(format_short(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(format_short(Duration::from_secs(245)), "4m 05s");
        assert_eq!(format_short(Duration::from_secs(7_380)), "2h 03m");
    }

    #[test]
    fn long_durations_are_worded_in_days() {
        assert_eq!(format_short(Duration::from_secs(86_400)), "24h 00m");
        assert_eq!(
            format_short(Duration::from_secs(2 * 86_400 - 60)),
            "47h 59m"
        );
        assert_eq!(format_short(Duration::from_secs(2 * 86_400)), "2d 00h");
        // 34341h 19m, an event replayed years later.
        assert_eq!(
            format_short(Duration::from_secs(34_341 * 3_600 + 19 * 60)),
            "1430d 21h"
        );
    }
}
