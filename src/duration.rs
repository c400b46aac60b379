//! Durations as users write them: `90s`, `5m`, `1h30m`, `500ms`.

use std::time::Duration;

/// The longest duration accepted: a year. Anything longer is a typo, and would overflow
/// the clock arithmetic it goes into.
pub const MAX: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses a duration made of one or more `<number><unit>` parts (units: ms, s, m, h), of
/// at most [`MAX`].
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "`{text}` is not a duration (examples: 90s, 5m, 1h30m)"
            ));
        }
        let too_long = || format!("`{text}` is longer than a year (the most landscape accepts)");
        let number: u64 = rest[..digits].parse().map_err(|_| too_long())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = |factor: u64| number.checked_mul(factor).map(Duration::from_secs);
        let part = match &rest[..unit_len] {
            "ms" => Some(Duration::from_millis(number)),
            "s" => seconds(1),
            "m" => seconds(60),
            "h" => seconds(3600),
            "" => return Err(format!("`{text}` needs a unit (ms, s, m or h)")),
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}` (use ms, s, m or h)"
                ));
            }
        };
        total = part
            .and_then(|p| total.checked_add(p))
            .filter(|t| *t <= MAX)
            .ok_or_else(too_long)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Formats a duration the way users write them (`1m30s`, `12s`, `250ms`).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse("5").is_err());
        assert!(parse("m5").is_err());
        assert!(parse("5 minutes").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn huge_durations_are_errors_not_panics_or_wraps() {
        for text in [
            "18446744073709551615s1s",
            "307445734561825861m",
            "99999999999999999999h",
            "9000h",
            "18446744073709551615ms18446744073709551615ms",
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("longer than a year"), "{text}: {err}");
        }
        assert_eq!(parse("8760h").unwrap(), Duration::from_secs(8760 * 3600));
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_millis(1500)), "1s");
        assert_eq!(format(Duration::from_millis(20)), "20ms");
        assert_eq!(format(Duration::from_secs(3600)), "1h");
    }
}
