//! `is_complete`: whether a cell's delimiters, strings and comments close.

#[derive(Debug, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    /// More input is needed; the string is the indent for the next line.
    Incomplete(String),
    Invalid,
}

pub fn check(code: &str) -> Completeness {
    let mut open: Vec<char> = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut depth = 1;
                let mut prev = '\0';
                while depth > 0 {
                    let Some(c) = chars.next() else {
                        return Completeness::Incomplete(String::new());
                    };
                    match (prev, c) {
                        ('*', '/') => {
                            depth -= 1;
                            prev = '\0';
                            continue;
                        }
                        ('/', '*') => {
                            depth += 1;
                            prev = '\0';
                            continue;
                        }
                        _ => {}
                    }
                    prev = c;
                }
            }
            '"' if !skip_string(&mut chars) => {
                return Completeness::Incomplete(String::new());
            }
            'r' if matches!(chars.peek(), Some('#') | Some('"')) => {
                let mut hashes = 0;
                while chars.peek() == Some(&'#') {
                    chars.next();
                    hashes += 1;
                }
                if chars.peek() != Some(&'"') {
                    continue;
                }
                chars.next();
                if !skip_raw_string(&mut chars, hashes) {
                    return Completeness::Incomplete(String::new());
                }
            }
            '\'' => skip_char_or_lifetime(&mut chars),
            '(' | '[' | '{' => open.push(c),
            ')' | ']' | '}' => {
                let expected = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if open.pop() != Some(expected) {
                    return Completeness::Invalid;
                }
            }
            _ => {}
        }
    }
    if open.is_empty() {
        Completeness::Complete
    } else {
        Completeness::Incomplete("    ".repeat(open.len()))
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_string(chars: &mut Chars) -> bool {
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return true,
            _ => {}
        }
    }
    false
}

fn skip_raw_string(chars: &mut Chars, hashes: usize) -> bool {
    while let Some(c) = chars.next() {
        if c == '"' {
            let mut seen = 0;
            while seen < hashes && chars.peek() == Some(&'#') {
                chars.next();
                seen += 1;
            }
            if seen == hashes {
                return true;
            }
        }
    }
    false
}

/// `'a'`, `'\n'` and `'\u{1F600}'` are chars; `'a` is a lifetime.
fn skip_char_or_lifetime(chars: &mut Chars) {
    let mut ahead = chars.clone();
    match ahead.next() {
        Some('\\') => {
            for c in chars.by_ref() {
                if c == '\'' {
                    break;
                }
            }
        }
        Some(_) if ahead.next() == Some('\'') => {
            chars.next();
            chars.next();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_cells() {
        assert_eq!(check("6 * 7"), Completeness::Complete);
        assert_eq!(check("fn f() {"), Completeness::Incomplete("    ".into()));
        assert_eq!(check("fn f() }"), Completeness::Invalid);
        assert_eq!(check("let s = \"{\";"), Completeness::Complete);
        assert_eq!(
            check("let s = \"abc"),
            Completeness::Incomplete(String::new())
        );
        assert_eq!(
            check("let c = '{'; fn f<'a>(x: &'a str) {}"),
            Completeness::Complete
        );
        assert_eq!(check("// {\n1"), Completeness::Complete);
        assert_eq!(check("/* { */ 1"), Completeness::Complete);
        assert_eq!(check("let r = r#\"}\"#;"), Completeness::Complete);
        assert_eq!(check("vec![1, 2"), Completeness::Incomplete("    ".into()));
    }
}
