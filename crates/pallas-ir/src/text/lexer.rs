//! Splits kernel text into tokens with their line and column.

use crate::kernel::Loc;

use super::ParseError;

/// A token of the text format.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A word: keyword, name, dtype (`kernel`, `x`, `f32`, `_`).
    Ident(String),
    /// A value name without its `%` (`12`, `acc`).
    Value(String),
    /// A number as written (`-3`, `2.5`, `1e-7`, `0x7fc00000`).
    Number(String),
    /// A string literal, unescaped.
    Str(String),
    /// Punctuation: `( ) [ ] { } , : = ->`.
    Punct(&'static str),
    /// End of input.
    Eof,
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Value(s) => write!(f, "`%{s}`"),
            Tok::Number(s) => write!(f, "number `{s}`"),
            Tok::Str(_) => f.write_str("a string"),
            Tok::Punct(p) => write!(f, "`{p}`"),
            Tok::Eof => f.write_str("end of input"),
        }
    }
}

/// Tokenizes the whole text.
pub fn lex(src: &str) -> Result<Vec<(Tok, Loc)>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1u32, 1u32);
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let loc = Loc { line, col };
        let start = i;
        let advance = |n: usize, i: &mut usize, col: &mut u32| {
            *i += n;
            *col = col.saturating_add(n as u32);
        };
        match c {
            '\n' => {
                i += 1;
                line = line.saturating_add(1);
                col = 1;
                continue;
            }
            c if c.is_whitespace() => {
                advance(1, &mut i, &mut col);
                continue;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    advance(1, &mut i, &mut col);
                }
                continue;
            }
            '(' | ')' | '[' | ']' | '{' | '}' | ',' | ':' | '=' => {
                let p = match c {
                    '(' => "(",
                    ')' => ")",
                    '[' => "[",
                    ']' => "]",
                    '{' => "{",
                    '}' => "}",
                    ',' => ",",
                    ':' => ":",
                    _ => "=",
                };
                toks.push((Tok::Punct(p), loc));
                advance(1, &mut i, &mut col);
            }
            '-' if chars.get(i + 1) == Some(&'>') => {
                toks.push((Tok::Punct("->"), loc));
                advance(2, &mut i, &mut col);
            }
            '%' => {
                advance(1, &mut i, &mut col);
                while i < chars.len() && is_word(chars[i]) {
                    advance(1, &mut i, &mut col);
                }
                let name: String = chars[start + 1..i].iter().collect();
                if name.is_empty() {
                    return Err(ParseError::new(loc, "a value name after `%`", "nothing"));
                }
                toks.push((Tok::Value(name), loc));
            }
            '"' => {
                advance(1, &mut i, &mut col);
                let mut s = String::new();
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(ParseError::new(loc, "a closing `\"`", "end of input"));
                    };
                    advance(1, &mut i, &mut col);
                    match c {
                        '"' => break,
                        '\n' => return Err(ParseError::new(loc, "a closing `\"`", "end of line")),
                        '\\' => {
                            let esc = chars.get(i).copied();
                            advance(1, &mut i, &mut col);
                            match esc {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some('"') => s.push('"'),
                                Some('\\') => s.push('\\'),
                                Some('u') => {
                                    let ch = lex_unicode_escape(&chars, &mut i, &mut col)
                                        .ok_or_else(|| {
                                            ParseError::new(
                                                loc,
                                                "a `\\u{...}` escape of a valid character",
                                                "something else",
                                            )
                                        })?;
                                    s.push(ch);
                                }
                                other => {
                                    return Err(ParseError::new(
                                        loc,
                                        "an escape `\\n`, `\\t`, `\\\"`, `\\\\` or `\\u{...}`",
                                        &format!(
                                            "`\\{}`",
                                            other.map(String::from).unwrap_or_default()
                                        ),
                                    ))
                                }
                            }
                        }
                        c => s.push(c),
                    }
                }
                toks.push((Tok::Str(s), loc));
            }
            c if c.is_ascii_digit()
                || (c == '-'
                    && chars
                        .get(i + 1)
                        .is_some_and(|d| d.is_ascii_digit() || *d == 'i')) =>
            {
                advance(1, &mut i, &mut col);
                if c == '-' && chars.get(i) == Some(&'i') {
                    // `-inf`: a minus glued to a word.
                    toks.push((Tok::Punct("-"), loc));
                    continue;
                }
                while i < chars.len() {
                    let d = chars[i];
                    let prev = chars[i - 1];
                    let exp_sign = (d == '-' || d == '+') && (prev == 'e' || prev == 'E');
                    if is_word(d) || d == '.' || exp_sign {
                        advance(1, &mut i, &mut col);
                    } else {
                        break;
                    }
                }
                toks.push((Tok::Number(chars[start..i].iter().collect()), loc));
            }
            c if is_word(c) => {
                while i < chars.len() && is_word(chars[i]) {
                    advance(1, &mut i, &mut col);
                }
                toks.push((Tok::Ident(chars[start..i].iter().collect()), loc));
            }
            other => {
                return Err(ParseError::new(loc, "a token", &format!("`{other}`")));
            }
        }
    }
    toks.push((Tok::Eof, Loc { line, col }));
    Ok(toks)
}

fn lex_unicode_escape(chars: &[char], i: &mut usize, col: &mut u32) -> Option<char> {
    if chars.get(*i) != Some(&'{') {
        return None;
    }
    let mut j = *i + 1;
    let mut code = 0u32;
    let mut digits = 0;
    while let Some(d) = chars.get(j).and_then(|c| c.to_digit(16)) {
        code = code.checked_mul(16)?.checked_add(d)?;
        digits += 1;
        j += 1;
        if digits > 6 {
            return None;
        }
    }
    if digits == 0 || chars.get(j) != Some(&'}') {
        return None;
    }
    j += 1;
    *col = col.saturating_add((j - *i) as u32);
    *i = j;
    char::from_u32(code)
}
