//! One pure parser per log format: bytes of a line in, usage events out.
//! No I/O here; `crate::sources` picks the parser a source's format names.

pub mod anthropic;
pub mod attribution;
pub mod claude_code;
pub mod claude_statusline;
pub mod codex;
pub mod copilot_cli;
pub mod copilot_session;
pub mod fields;
pub mod gemini_cli;
pub mod genai;
pub mod google_usage;
pub mod jsonl;
pub mod litellm;
pub mod litellm_options;
pub mod messages_usage;
pub mod openai;
pub mod openai_usage;
pub mod opencode;
pub mod otlp;
pub mod qwen_code;
