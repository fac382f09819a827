//! Where a part keeps what must survive a restart, unless `--state-dir` says otherwise.

use std::path::PathBuf;

/// `$NEXTFLIX_STATE_DIR` is read by the flags themselves; this is the fallback:
/// `$XDG_STATE_HOME/nextflix`, else `~/.local/state/nextflix`, else `./.nextflix`.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("nextflix");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/state/nextflix");
    }
    PathBuf::from(".nextflix")
}
