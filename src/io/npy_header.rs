//! The `.npy` preamble and header dict, parsed in one pass.
//!
//! A header is numpy's `repr` of a flat dict with three keys, e.g.
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`. A general Python-literal
//! parser takes time exponential in nesting depth on hostile input; this one reads each byte
//! once, accepts exactly that grammar (either quote, any whitespace, Python 2's `3L`), and
//! refuses headers longer than [`MAX_HEADER_LEN`] before reading them.

/// The first bytes of every `.npy` file.
pub(crate) const MAGIC: &[u8] = b"\x93NUMPY";

/// numpy's own default cap (`max_header_size` in `numpy.lib.format`): real headers are a few
/// hundred bytes even for many dimensions.
pub const MAX_HEADER_LEN: usize = 10_000;

/// Why a preamble could not be read.
#[derive(Debug, PartialEq)]
pub(crate) enum PreambleError {
    /// The bytes end before the header length field does.
    Truncated,
    NotNpy,
    Invalid(String),
}

/// From the magic bytes and version, where the header dict lies: `(start, len)`.
pub(crate) fn preamble(bytes: &[u8]) -> Result<(usize, usize), PreambleError> {
    let magic_len = MAGIC.len().min(bytes.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(PreambleError::NotNpy);
    }
    if bytes.len() < MAGIC.len() + 2 {
        return Err(PreambleError::Truncated);
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let width = match major {
        1 => 2,
        2 | 3 => 4,
        _ => {
            return Err(PreambleError::Invalid(format!(
                "unsupported .npy format version {major}.{minor}"
            )))
        }
    };
    let start = 8 + width;
    let field = bytes.get(8..start).ok_or(PreambleError::Truncated)?;
    let len = field
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if len > MAX_HEADER_LEN as u64 {
        return Err(PreambleError::Invalid(format!(
            "header of {len} bytes is longer than the {MAX_HEADER_LEN} allowed"
        )));
    }
    Ok((start, len as usize))
}

/// The header dict's three keys.
#[derive(Debug, PartialEq)]
pub(crate) struct Header {
    pub descr: String,
    pub fortran_order: bool,
    /// Dimensions as written (each fits `u64`; their product is not checked here).
    pub shape: Vec<u64>,
}

/// Parse the dict text (the bytes after the preamble, newline and padding included).
pub(crate) fn parse(text: &[u8]) -> Result<Header, String> {
    let mut p = Parser { s: text, i: 0 };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.skip_space();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.skip_space();
        p.expect(b':')?;
        p.skip_space();
        let duplicate = match key.as_str() {
            "descr" => {
                if p.peek() == Some(b'[') {
                    return Err("unsupported dtype (structured arrays are not supported)".into());
                }
                descr.replace(p.string()?).is_some()
            }
            "fortran_order" => fortran.replace(p.boolean()?).is_some(),
            "shape" => shape.replace(p.tuple()?).is_some(),
            other => return Err(format!("unexpected key '{other}' in the header")),
        };
        if duplicate {
            return Err(format!("key '{key}' appears twice in the header"));
        }
        p.skip_space();
        if !p.eat(b',') {
            p.skip_space();
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_space();
    if p.i != p.s.len() {
        return Err("unexpected text after the header dict".into());
    }
    let missing = |k: &str| format!("the header has no '{k}' key");
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at byte {} of the header",
                c as char, self.i
            ))
        }
    }
    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    /// A quoted string without escapes (dtype strings and keys never hold any).
    fn string(&mut self) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(format!(
                    "expected a string at byte {} of the header",
                    self.i
                ))
            }
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote || c == b'\\' || c == b'\n')
            .filter(|&n| self.s[start + n] == quote)
            .ok_or_else(|| format!("bad string at byte {} of the header", self.i))?;
        self.i = start + len + 1;
        String::from_utf8(self.s[start..start + len].to_vec())
            .map_err(|_| "a header string is not UTF-8".to_string())
    }
    fn boolean(&mut self) -> Result<bool, String> {
        for (word, value) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(value);
            }
        }
        Err(format!(
            "expected True or False at byte {} of the header",
            self.i
        ))
    }
    /// `()`, `(n,)`, `(n, m)`, ... of non-negative integers.
    fn tuple(&mut self) -> Result<Vec<u64>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.skip_space();
            if self.eat(b')') {
                break;
            }
            dims.push(self.integer()?);
            self.skip_space();
            if !self.eat(b',') {
                self.skip_space();
                self.expect(b')')?;
                break;
            }
        }
        // `(3)` is the integer 3 in Python, not a tuple.
        Ok(dims)
    }
    fn integer(&mut self) -> Result<u64, String> {
        let start = self.i;
        let mut value: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| "a dimension in the header does not fit 64 bits".to_string())?;
            self.i += 1;
        }
        if self.i == start {
            return Err(format!(
                "expected a dimension at byte {start} of the header"
            ));
        }
        self.eat(b'L');
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_headers_parse() {
        let h = parse(b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }   \n").unwrap();
        assert_eq!(
            h,
            Header {
                descr: "<f4".into(),
                fortran_order: false,
                shape: vec![3, 4]
            }
        );
        let h = parse(b"{\"shape\":(5L,),\"descr\":\"|u1\",\"fortran_order\":True}").unwrap();
        assert_eq!((h.shape, h.fortran_order), (vec![5], true));
        assert_eq!(
            parse(b"{'descr': '<f8', 'fortran_order': False, 'shape': ()}")
                .unwrap()
                .shape,
            Vec::<u64>::new()
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            &b"{{{{{{{{{{{{{{{{\n"[..],
            b"[]",
            b"{'descr': '<f4', 'fortran_order': False}",
            b"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
            b"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            b"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            b"{'descr': '<f4\\', 'fortran_order': False, 'shape': (1,)}",
            b"{'descr': '<f4",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn deep_nesting_is_refused_at_once() {
        // npyz's parser took ~3x longer per level; this one stops at the second byte.
        let mut text = vec![b'('; 100_000];
        text.insert(0, b'{');
        assert!(parse(&text).is_err());
    }

    #[test]
    fn preamble_reads_both_header_length_widths() {
        assert_eq!(preamble(b"\x93NUMPY\x01\x00\x76\x00"), Ok((10, 0x76)));
        assert_eq!(preamble(b"\x93NUMPY\x02\x00\x10\x00\x00\x00"), Ok((12, 16)));
        assert_eq!(preamble(b"\x93NUM"), Err(PreambleError::Truncated));
        assert_eq!(
            preamble(b"\x93NUMPY\x02\x00\x10"),
            Err(PreambleError::Truncated)
        );
        assert_eq!(preamble(b"PK\x03\x04"), Err(PreambleError::NotNpy));
        assert!(matches!(
            preamble(b"\x93NUMPY\x02\x00\xff\xff\xff\xff"),
            Err(PreambleError::Invalid(_))
        ));
    }
}
