//! Where each coding agent writes its logs by default: the paths a source
//! of its format follows when it lists none.

use super::{formats, Format};

/// The default globs of `format`, honouring the agent's own home variable.
pub(super) fn of(format: Format) -> Vec<String> {
    let home = |var: &str, default: &str| match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v.trim().trim_end_matches('/').to_string(),
        _ => default.to_string(),
    };
    match format {
        Format::Codex => {
            let codex = home("CODEX_HOME", "~/.codex");
            vec![format!("{codex}/sessions/**/*.jsonl"), format!("{codex}/archived_sessions/**/*.jsonl")]
        }
        Format::GeminiCli => {
            let gemini = format!("{}/.gemini", home("GEMINI_CLI_HOME", "~"));
            vec![format!("{gemini}/tmp/*/chats/**/*.json"), format!("{gemini}/tmp/*/chats/**/*.jsonl")]
        }
        // Qwen Code 0.5 and later: `projects/<project>/chats/<session>.jsonl`;
        // before: `tmp/<project hash>/chats/session-*.json` (read whole, see
        // `reads_document`). `usage/token-usage-YYYY-MM.jsonl` is not read:
        // every request in it is in the chats too (assistant records and
        // `ui_telemetry` side calls), with no id that ties the two together,
        // so reading both would need matching on counts alone.
        Format::QwenCode => {
            let qwen = home("QWEN_HOME", "~/.qwen");
            vec![format!("{qwen}/projects/*/chats/**/*.jsonl"), format!("{qwen}/tmp/*/chats/session-*.json")]
        }
        Format::Opencode => formats::opencode::default_paths(),
        // The CLI's own session logs (always written) and its opt-in
        // OpenTelemetry file export; `copilot_cli::CopilotCliParser` tells
        // them apart by their lines.
        Format::CopilotCli => vec!["~/.copilot/session-state/*/events.jsonl".to_string(), "~/.copilot/otel/*.jsonl".to_string()],
        Format::ClaudeCode
        | Format::Anthropic
        | Format::Openai
        | Format::Litellm
        | Format::Jsonl
        | Format::ClaudeStatusline
        | Format::Otlp => Vec::new(),
    }
}
