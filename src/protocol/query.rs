//! URL query strings (`application/x-www-form-urlencoded`): `+` is a space and `%XX` a byte; a `%` not
//! followed by two hex digits is kept as it is.

/// `raw` decoded; `None` when the bytes are not UTF-8.
pub fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Every `key=value` pair, decoded (a pair that is not UTF-8 has an empty value; a key without `=` too).
pub fn pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k).unwrap_or_default(), decode(v).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_keeps_malformed_ones() {
        assert_eq!(decode("a%20b+c%3A%zz%4").as_deref(), Some("a b c:%zz%4"));
        assert_eq!(decode("%ff"), None);
        let all: Vec<_> = pairs("a=1&&b&c=x%2By").collect();
        assert_eq!(all, vec![("a".into(), "1".into()), ("b".into(), String::new()), ("c".into(), "x+y".into())]);
    }
}
