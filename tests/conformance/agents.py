"""The agents the conformance suite runs, and how. For each: the binary, creditwatch's format, the
files (globs under HOME) where a request counts as logged (`logs`), the paths a user would give a
`creditwatch run` source for them (`paths`, the format's documented defaults), a setup writing
the agent's config into HOME, its environment (every base URL at the fake provider; updates,
telemetry and plugin syncs off) and its runs: (argv, extra environment) pairs, in order, sharing
one HOME. The versions are pinned in agents.txt; run.py runs these and checks what they wrote.
"""

import json
import os

OTLP_TOKEN = "conformance-otlp-token-0123456789"
# The words CONFORMANCE_TOOL and CONFORMANCE_SUBAGENT make the fake provider answer with a call of
# the agent's shell tool or subagent tool (fake_provider.TOOL_WORDS).
TOOL_PROMPT = "Run the command `echo conformance` with your shell tool, then say done. CONFORMANCE_TOOL"
SUBAGENT_PROMPT = "Ask a subagent for one word, then say done. CONFORMANCE_SUBAGENT"
FOLLOW_PROMPT = "Thanks. Answer in one word."


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def base_url(ctx, tag):
    return f"http://127.0.0.1:{ctx['port']}/a/{tag}"


def claude_env(ctx, home):
    # Claude Code settings: https://docs.anthropic.com/en/docs/claude-code/settings (environment
    # variables) and .../monitoring-usage (OpenTelemetry).
    return {
        "ANTHROPIC_BASE_URL": base_url(ctx, "claude-code"),
        "ANTHROPIC_API_KEY": "sk-ant-conformance",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_BUG_COMMAND": "1",
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer {OTLP_TOKEN}",
        "OTEL_LOGS_EXPORT_INTERVAL": "500",
    }


def claude_runs(ctx, b):
    # The three protocols Claude Code's exporter speaks, one per run.
    grpc = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ctx['grpc']}"}
    proto = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ctx['http']}"}
    jsn = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ctx['http']}"}
    tools = ["--allowedTools", "Bash,Agent,Task"]
    return [
        ([b, "-p", TOOL_PROMPT, "--model", "claude-sonnet-4-6", *tools], grpc),
        # A subagent: its requests go to <session>/subagents/agent-*.jsonl.
        ([b, "-p", "--continue", SUBAGENT_PROMPT, "--model", "claude-opus-4-6", *tools], proto),
        # A fork copies the parent's assistant lines (same ids) and its cost-state into a new file.
        ([b, "-p", "--continue", "--fork-session", FOLLOW_PROMPT, "--model", "claude-haiku-4-5", *tools], jsn),
    ]


def codex_setup(ctx, home):
    # Codex config: https://github.com/openai/codex/blob/main/docs/config.md (model_providers,
    # check_for_update_on_startup, analytics); `features.plugins = false` stops the curated
    # plugins sync (github.com, api.github.com, chatgpt.com) that 0.171 runs at start.
    write(f"{home}/.codex/config.toml", f"""model_provider = "fake"
check_for_update_on_startup = false
[model_providers.fake]
name = "fake"
base_url = "{base_url(ctx, 'codex')}/v1"
env_key = "CONFORMANCE_OPENAI_KEY"
wire_api = "responses"
[features]
plugins = false
[analytics]
enabled = false
""")


def codex_runs(ctx, b):
    flags = ["--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
    # The tool call on a model Codex offers tools to (0.171 offers its default model none).
    return [
        ([b, "exec", *flags, "-m", "gpt-5.4", TOOL_PROMPT], {}),
        ([b, "exec", *flags, "resume", "--last", FOLLOW_PROMPT], {}),  # the model this version defaults to
    ]


def gemini_setup(ctx, home):
    # Gemini CLI settings: https://github.com/google-gemini/gemini-cli/blob/main/docs/get-started/configuration.md
    write(f"{home}/.gemini/settings.json", json.dumps({
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
        "telemetry": {"enabled": False},
        "security": {"auth": {"selectedType": "gemini-api-key"}},
    }))


def gemini_runs(ctx, b):
    flags = ["--yolo", "--skip-trust"]
    return [
        ([b, "-p", TOOL_PROMPT, *flags], {}),
        ([b, "--resume", "latest", "-m", "gemini-2.5-flash", "-p", FOLLOW_PROMPT, *flags], {}),
    ]


def qwen_setup(ctx, home):
    # Qwen Code is a Gemini CLI fork: the same settings file, under ~/.qwen.
    write(f"{home}/.qwen/settings.json", json.dumps({
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
        "telemetry": {"enabled": False},
        "security": {"auth": {"selectedType": "openai"}},
    }))


def qwen_runs(ctx, b):
    return [
        ([b, "-p", TOOL_PROMPT, "--yolo"], {}),  # the model this version defaults to
        ([b, "--continue", "-p", FOLLOW_PROMPT, "--yolo", "--model", "qwen3-coder-flash"], {}),
    ]


def opencode_setup(ctx, home):
    # OpenCode config: https://opencode.ai/docs/config/ and /docs/providers/ (custom provider
    # through @ai-sdk/openai-compatible); `small_model` makes the title call.
    write(f"{home}/.config/opencode/opencode.json", json.dumps({
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "model": "fake/gpt-5.2",
        "small_model": "fake/gpt-5-nano",
        "provider": {"fake": {
            "npm": "@ai-sdk/openai-compatible", "name": "Fake",
            "options": {"baseURL": base_url(ctx, "opencode") + "/v1", "apiKey": "conformance-key"},
            "models": {m: {"name": m, "tool_call": True, "reasoning": True} for m in ("gpt-5.2", "gpt-5.4", "gpt-5-nano")},
        }},
    }))
    # Its background install of @opencode-ai/plugin into the config folder asks this registry.
    write(f"{home}/.npmrc", f"registry={base_url(ctx, 'npm-registry')}/\n")


def opencode_runs(ctx, b):
    return [
        ([b, "run", TOOL_PROMPT], {}),
        ([b, "run", "--continue", "-m", "fake/gpt-5.4", FOLLOW_PROMPT], {}),
    ]


AGENTS = {
    "claude-code": dict(bin="claude", format="claude_code", setup=None, env=claude_env, runs=claude_runs,
                        logs=[".claude/projects/**/*.jsonl"], paths=[".claude/projects/**/*.jsonl"]),
    "codex": dict(bin="codex", format="codex", setup=codex_setup, runs=codex_runs,
                  env=lambda ctx, home: {"CONFORMANCE_OPENAI_KEY": "sk-conformance"},
                  logs=[".codex/sessions/**/*.jsonl", ".codex/archived_sessions/**/*.jsonl"],
                  paths=[".codex/sessions/**/*.jsonl", ".codex/archived_sessions/**/*.jsonl"]),
    "gemini-cli": dict(bin="gemini", format="gemini_cli", setup=gemini_setup, runs=gemini_runs,
                       env=lambda ctx, home: {"GEMINI_API_KEY": "conformance-key",
                                              "GOOGLE_GEMINI_BASE_URL": base_url(ctx, "gemini-cli")},
                       logs=[".gemini/tmp/*/chats/**/*.json", ".gemini/tmp/*/chats/**/*.jsonl"],
                       paths=[".gemini/tmp/*/chats/**/*.json", ".gemini/tmp/*/chats/**/*.jsonl"]),
    "qwen-code": dict(bin="qwen", format="qwen_code", setup=qwen_setup, runs=qwen_runs,
                      env=lambda ctx, home: {"OPENAI_API_KEY": "conformance-key",
                                             "OPENAI_BASE_URL": base_url(ctx, "qwen-code") + "/v1",
                                             "QWEN_CODE_SUPPRESS_YOLO_WARNING": "1"},
                      logs=[".qwen/projects/*/chats/**/*.jsonl", ".qwen/tmp/*/chats/**/*.json",
                            ".qwen/usage/*.jsonl"],
                      paths=[".qwen/projects/*/chats/**/*.jsonl"]),
    "opencode": dict(bin="opencode", format="opencode", setup=opencode_setup, runs=opencode_runs,
                     env=lambda ctx, home: {"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1",
                                            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1", "OPENCODE_DISABLE_SHARE": "1",
                                            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1", "OPENCODE_PURE": "1",
                                            "npm_config_registry": base_url(ctx, "npm-registry") + "/"},
                     logs=[".local/share/opencode/opencode.db*", ".local/share/opencode/storage/**/*.json"],
                     paths=[".local/share/opencode/opencode.db"]),
}


