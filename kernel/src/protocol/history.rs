//! The session's history of executed cells, as history requests see it:
//! the last n, a range of execution counts, or a glob search.

use jupyter_protocol::{HistoryEntry, HistoryRequest};

/// History numbers sessions; a kernel process holds exactly one.
const SESSION_NUMBER: usize = 1;

/// One executed cell as history reports it.
struct HistoryItem {
    count: usize,
    input: String,
    /// The `text/plain` result, for `output=true` requests.
    output: String,
}

#[derive(Default)]
pub struct History {
    items: Vec<HistoryItem>,
}

impl History {
    pub fn push(&mut self, count: usize, input: String, output: String) {
        self.items.push(HistoryItem {
            count,
            input,
            output,
        });
    }

    pub fn answer(&self, request: &HistoryRequest) -> Vec<HistoryEntry> {
        let (with_output, matching): (bool, Vec<&HistoryItem>) = match request {
            HistoryRequest::Tail { n, output, .. } => {
                let skip = self.items.len().saturating_sub((*n).max(0) as usize);
                (*output, self.items[skip..].iter().collect())
            }
            HistoryRequest::Range {
                start,
                stop,
                output,
                ..
            } => {
                let within = |item: &&HistoryItem| {
                    let n = item.count as i32;
                    n >= *start && (*stop <= 0 || n < *stop)
                };
                (*output, self.items.iter().filter(within).collect())
            }
            HistoryRequest::Search {
                pattern,
                unique,
                n,
                output,
                ..
            } => {
                let mut found: Vec<&HistoryItem> = self
                    .items
                    .iter()
                    .filter(|item| glob_match(pattern, &item.input))
                    .collect();
                if *unique {
                    // Keep the latest run of each distinct input.
                    let mut seen = std::collections::HashSet::new();
                    found.reverse();
                    found.retain(|item| seen.insert(item.input.as_str()));
                    found.reverse();
                }
                let skip = if *n > 0 {
                    found.len().saturating_sub(*n as usize)
                } else {
                    0
                };
                (*output, found.split_off(skip))
            }
        };
        matching
            .into_iter()
            .map(|item| {
                if with_output {
                    HistoryEntry::InputOutput(
                        SESSION_NUMBER,
                        item.count,
                        (item.input.clone(), item.output.clone()),
                    )
                } else {
                    HistoryEntry::Input(SESSION_NUMBER, item.count, item.input.clone())
                }
            })
            .collect()
    }
}

/// `*` and `?` wildcards, as IPython's history search uses.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        // A `*` in the pattern is always a wildcard, even where the text
        // holds a `*` too.
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_in_ipython_history_search() {
        for (pattern, text, matches) in [
            ("6 *", "6 * 7", true),
            ("*", "", true),
            ("6*7", "6 * 7", true),
            ("6 ? 7", "6 * 7", true),
            ("6 ? 7", "6 ?? 7", false),
            ("?", "?", true),
            ("a*b*c", "a*xb*yc", true),
            ("a*b*c", "a*xb*y", false),
            ("let x*", "let y = 1", false),
            ("*é", "café", true),
        ] {
            assert_eq!(
                glob_match(pattern, text),
                matches,
                "{pattern:?} on {text:?}"
            );
        }
    }
}
