//! Resource quantities (`100m`, `1.5Gi`, `2e3`), as the API writes them: CPU in
//! millicores, everything else in whole units (bytes for memory).

/// A quantity in thousandths of its unit (millicores for CPU, millibytes for memory), so
/// that one type and one parser serve both. None when it is not a quantity.
pub fn parse_milli(s: &str) -> Option<u128> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    // `2e3` is an exponent; `1E` is an exabyte.
    let (exponent, unit) = match suffix
        .strip_prefix(['e', 'E'])
        .and_then(|e| e.parse::<i32>().ok())
    {
        Some(exp) => (exp, ""),
        None => (0, suffix),
    };
    let multiplier: f64 = match unit {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() || value < 0.0 || !(-18..=18).contains(&exponent) {
        return None;
    }
    let milli = value * multiplier * 10f64.powi(exponent) * 1000.0;
    (milli.is_finite() && milli < 1e30).then(|| milli.ceil() as u128)
}

/// A CPU amount for messages: `250m`, `2`, `1.5`.
pub fn format_cpu(milli: u128) -> String {
    if milli.is_multiple_of(1000) {
        format!("{}", milli / 1000)
    } else if milli < 1000 {
        format!("{milli}m")
    } else {
        format!("{:.1}", milli as f64 / 1000.0)
    }
}

/// A memory amount for messages, in binary units: `512Mi`, `3.5Gi`.
pub fn format_bytes(milli: u128) -> String {
    let bytes = milli as f64 / 1000.0;
    let units = [
        ("Ti", 1024f64.powi(4)),
        ("Gi", 1024f64.powi(3)),
        ("Mi", 1024f64.powi(2)),
        ("Ki", 1024.0),
    ];
    for (unit, size) in units {
        if bytes >= size {
            let n = bytes / size;
            return if (n - n.round()).abs() < 0.05 {
                format!("{}{unit}", n.round())
            } else {
                format!("{n:.1}{unit}")
            };
        }
    }
    format!("{bytes}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_as_the_api_writes_them() {
        assert_eq!(parse_milli("100m"), Some(100));
        assert_eq!(parse_milli("2"), Some(2000));
        assert_eq!(parse_milli("0.5"), Some(500));
        assert_eq!(parse_milli("1Ki"), Some(1024 * 1000));
        assert_eq!(parse_milli("128Mi"), Some(128 * 1024 * 1024 * 1000));
        assert_eq!(parse_milli("1G"), Some(1_000_000_000_000));
        assert_eq!(parse_milli("2e3"), Some(2_000_000));
        assert_eq!(parse_milli("1E"), Some(1_000_000_000_000_000_000_000));
        for bad in ["", "abc", "1Qi", "-1", "1e99", "m"] {
            assert_eq!(parse_milli(bad), None, "{bad}");
        }
        assert_eq!(format_cpu(250), "250m");
        assert_eq!(format_cpu(2000), "2");
        assert_eq!(format_bytes(512 * 1024 * 1024 * 1000), "512Mi");
    }
}
