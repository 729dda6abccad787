//! A parser for the JavaScript object-literal subset the EMISS indicator page passes to `new FGrid(...)`:
//! unquoted, single- or double-quoted and numeric keys; single- or double-quoted strings with escapes;
//! numbers; true, false, null, undefined; arrays; nested objects; trailing commas; comments; and
//! function values, which are skipped. Not regular expressions: a small recursive-descent parser,
//! because the literal nests and its strings contain braces and quotes.

#[derive(Debug, Clone, PartialEq)]
pub enum JsValue {
    Object(Vec<(String, JsValue)>),
    Array(Vec<JsValue>),
    String(String),
    Number(f64),
    Bool(bool),
    Null,
    /// A function or another expression the parser skipped.
    Skipped,
}

impl JsValue {
    pub fn get(&self, key: &str) -> Option<&JsValue> {
        match self {
            JsValue::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, JsValue)] {
        match self {
            JsValue::Object(entries) => entries,
            _ => &[],
        }
    }

    /// A string, or a number written as an id (`3`), as text.
    pub fn as_id(&self) -> Option<String> {
        match self {
            JsValue::String(s) => Some(s.clone()),
            JsValue::Number(n) if n.fract() == 0.0 => Some(format!("{}", *n as i64)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("JavaScript literal at character {position}: expected {expected}")]
pub struct JsError {
    pub position: usize,
    pub expected: String,
}

pub struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    _text: &'a str,
}

/// Parses one value starting at the beginning of `text` (leading white space allowed); returns it and
/// the number of characters consumed.
pub fn parse_value(text: &str) -> Result<(JsValue, usize), JsError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        _text: text,
    };
    let v = p.value(0)?;
    Ok((v, p.pos))
}

const MAX_DEPTH: usize = 128;

impl Parser<'_> {
    fn err<T>(&self, expected: &str) -> Result<T, JsError> {
        Err(JsError {
            position: self.pos,
            expected: expected.to_string(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some('/') if self.chars.get(self.pos + 1) == Some(&'/') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                Some('/') if self.chars.get(self.pos + 1) == Some(&'*') => {
                    self.pos += 2;
                    while self.pos < self.chars.len()
                        && !(self.peek() == Some('*') && self.chars.get(self.pos + 1) == Some(&'/'))
                    {
                        self.pos += 1;
                    }
                    self.pos = (self.pos + 2).min(self.chars.len());
                }
                _ => return,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsValue, JsError> {
        if depth > MAX_DEPTH {
            return self.err("less deeply nested values");
        }
        self.skip_space();
        match self.peek() {
            Some('{') => self.object(depth),
            Some('[') => self.array(depth),
            Some('\'') | Some('"') => self.string().map(JsValue::String),
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {
                let word = self.identifier();
                match word.as_str() {
                    "true" => Ok(JsValue::Bool(true)),
                    "false" => Ok(JsValue::Bool(false)),
                    "null" | "undefined" => Ok(JsValue::Null),
                    "function" => self.skip_function(),
                    _ => {
                        // A bare expression (a variable, `new Date(...)`): skip to the next , } or ].
                        self.skip_expression();
                        Ok(JsValue::Skipped)
                    }
                }
            }
            _ => self.err("a value"),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsValue, JsError> {
        self.pos += 1; // {
        let mut entries = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some('}') => {
                    self.pos += 1;
                    return Ok(JsValue::Object(entries));
                }
                None => return self.err("'}'"),
                _ => {}
            }
            let key = match self.peek() {
                Some('\'') | Some('"') => self.string()?,
                Some(c) if c.is_ascii_digit() || c == '-' => match self.number()? {
                    JsValue::Number(n) if n.fract() == 0.0 => format!("{}", n as i64),
                    JsValue::Number(n) => n.to_string(),
                    _ => unreachable!("number() returns numbers"),
                },
                Some(c) if c.is_alphabetic() || c == '_' || c == '$' => self.identifier(),
                _ => return self.err("a key"),
            };
            self.skip_space();
            if self.peek() != Some(':') {
                return self.err("':' after a key");
            }
            self.pos += 1;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return self.err("',' or '}'"),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsValue, JsError> {
        self.pos += 1; // [
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some(']') => {
                    self.pos += 1;
                    return Ok(JsValue::Array(items));
                }
                None => return self.err("']'"),
                _ => {}
            }
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {}
                _ => return self.err("',' or ']'"),
            }
        }
    }

    fn string(&mut self) -> Result<String, JsError> {
        let quote = self.peek().expect("called on a quote");
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err("the end of a string");
            };
            self.pos += 1;
            match c {
                c if c == quote => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return self.err("an escape");
                    };
                    self.pos += 1;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        '0' => out.push('\0'),
                        'u' => {
                            let hex: String = self
                                .chars
                                .get(self.pos..self.pos + 4)
                                .map(|h| h.iter().collect())
                                .unwrap_or_default();
                            let Ok(code) = u32::from_str_radix(&hex, 16) else {
                                return self.err("four hex digits after \\u");
                            };
                            self.pos += 4;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        '\n' => {}
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn number(&mut self) -> Result<JsValue, JsError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match text.parse::<f64>() {
            Ok(n) => Ok(JsValue::Number(n)),
            Err(_) => {
                self.pos = start;
                self.err("a number")
            }
        }
    }

    fn identifier(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// Skips `function (...) { ... }`, braces balanced, strings respected.
    fn skip_function(&mut self) -> Result<JsValue, JsError> {
        while self.peek().is_some_and(|c| c != '{') {
            self.pos += 1;
        }
        self.skip_balanced()?;
        Ok(JsValue::Skipped)
    }

    fn skip_balanced(&mut self) -> Result<(), JsError> {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                '\'' | '"' | '`' => {
                    self.skip_quoted(c)?;
                    continue;
                }
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        self.err("a closing bracket")
    }

    fn skip_quoted(&mut self, quote: char) -> Result<(), JsError> {
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == '\\' {
                self.pos += 1;
            } else if c == quote {
                return Ok(());
            }
        }
        self.err("the end of a string")
    }

    fn skip_expression(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ',' | '}' | ']' => return,
                '(' | '{' | '[' => {
                    if self.skip_balanced().is_err() {
                        return;
                    }
                }
                '\'' | '"' | '`' => {
                    if self.skip_quoted(c).is_err() {
                        return;
                    }
                }
                _ => self.pos += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fgrid_subset() {
        let text = r#"{
            filters: { 0: { title: 'Показатель', values: { 33459: { title: 'Численность \'населения\'', order: 1, checked: true } } },
                       '3': { title: "Год", values: { '2020': { title: '2020', order: 0, checked: false, }, } } },
            left_columns: [57831, 0], top_columns: ['3'], // a comment
            /* another */ onLoad: function (grid) { if (grid) { return "}"; } },
            when: new Date(2020, 1, 1),
            empty: null, neg: -1.5e2,
        } tail"#;
        let (v, used) = parse_value(text).unwrap();
        assert!(text[..].chars().skip(used).collect::<String>().trim() == "tail");
        let filters = v.get("filters").unwrap();
        let field0 = filters.get("0").unwrap();
        assert_eq!(field0.get("title").unwrap().as_str(), Some("Показатель"));
        let value = field0.get("values").unwrap().get("33459").unwrap();
        assert_eq!(
            value.get("title").unwrap().as_str(),
            Some("Численность 'населения'")
        );
        assert_eq!(value.get("checked"), Some(&JsValue::Bool(true)));
        assert_eq!(
            filters
                .get("3")
                .unwrap()
                .get("values")
                .unwrap()
                .entries()
                .len(),
            1
        );
        assert_eq!(
            v.get("left_columns"),
            Some(&JsValue::Array(vec![
                JsValue::Number(57831.0),
                JsValue::Number(0.0)
            ]))
        );
        assert_eq!(v.get("onLoad"), Some(&JsValue::Skipped));
        assert_eq!(v.get("when"), Some(&JsValue::Skipped));
        assert_eq!(v.get("neg"), Some(&JsValue::Number(-150.0)));
    }

    #[test]
    fn errors_say_where_and_what() {
        let err = parse_value("{ a: 'unterminated }").unwrap_err();
        assert_eq!(err.expected, "the end of a string");
        let err = parse_value("{ a 1 }").unwrap_err();
        assert_eq!(
            (err.position, err.expected.as_str()),
            (4, "':' after a key")
        );
    }
}
