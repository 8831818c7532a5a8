//! Words for error messages: the nearest known name to a misspelt one, and lists of choices.

/// `; did you mean "lost"?` for the candidate nearest to `name` by edit distance, when it is near
/// enough (a third of the name, 1 to 4 edits); empty otherwise.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let limit = (name.len() / 3).clamp(1, 4);
    candidates
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default()
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
pub fn or_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", rest.join(", "), last.as_ref())
        }
    }
}
