//! One pure parser per log format: bytes of a line in, usage events out.
//! No I/O here; `crate::sources` picks the parser a source's format names.

pub mod anthropic;
pub mod attribution;
pub mod claude_code;
pub mod copilot_cli;
pub mod fields;
pub mod genai;
pub mod jsonl;
pub mod litellm;
pub mod messages_usage;
pub mod openai;
pub mod otlp;
