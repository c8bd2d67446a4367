//! One line for an error and its causes, `a: b: c`, for messages people read (an HTTP client's own message
//! alone is often just "error sending request").

/// `error` and each of its sources not already in the text, joined with `: `.
pub fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_causes_follow_once_each() {
        let error = Outer(std::io::Error::other("connection refused"));
        assert_eq!(causes(&error), "outer: connection refused");
    }
}
