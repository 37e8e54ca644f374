//! What a command reports: lines for people and one JSON document for scripts (`--output json`).

use serde_json::Value;

/// The result of a command.
#[derive(Debug, Default)]
pub struct Outcome {
    /// What people read, one line each.
    pub lines: Vec<String>,
    /// What scripts read.
    pub json: Value,
}

impl Outcome {
    /// An outcome of `json`, with no lines yet.
    pub fn new(json: Value) -> Self {
        Self {
            lines: Vec::new(),
            json,
        }
    }

    /// Adds a line for people.
    pub fn line(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    /// The outcome as printed in `format`.
    pub fn render(&self, format: crate::args::OutputFormat) -> String {
        match format {
            crate::args::OutputFormat::Display => self.lines.join("\n"),
            crate::args::OutputFormat::Json => {
                serde_json::to_string_pretty(&self.json).expect("JSON values serialize")
            }
        }
    }
}
