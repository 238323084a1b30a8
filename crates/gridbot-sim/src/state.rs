//! Saving and restoring the whole simulator (engine + replay position) as one JSON file,
//! written atomically: a temp file in the same directory, fsync, rename, fsync the directory.
//! A crash at any instant leaves either the old file or the new one, never half of one.

use std::fs;
use std::path::Path;

use crate::engine::MatchingEngine;
use crate::replay::{CandleReplay, ReplayPosition};

/// The saved form.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    version: u32,
    engine: MatchingEngine,
    replay: ReplayPosition,
}

const VERSION: u32 = 1;

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a simulator state of this version.
    #[error("{path}: not a gridbot-sim state file: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Writes `engine` and the replay position to `path` atomically.
pub fn save(path: &Path, engine: &MatchingEngine, replay: &CandleReplay) -> Result<(), StateError> {
    let io = |source| StateError::Io { path: path.display().to_string(), source };
    let saved = Saved { version: VERSION, engine: engine.clone(), replay: replay.position() };
    let text = serde_json::to_string(&saved)
        .map_err(|e| StateError::Invalid { path: path.display().to_string(), reason: e.to_string() })?;
    gridbot_core::fs::write_atomic(path, text.as_bytes()).map_err(io)?;
    Ok(())
}

/// Reads a saved simulator: the engine, and the replay moved to its saved position.
pub fn load(path: &Path, replay: &mut CandleReplay) -> Result<MatchingEngine, StateError> {
    let text =
        fs::read_to_string(path).map_err(|source| StateError::Io { path: path.display().to_string(), source })?;
    let saved: Saved = serde_json::from_str(&text)
        .map_err(|e| StateError::Invalid { path: path.display().to_string(), reason: e.to_string() })?;
    if saved.version != VERSION {
        return Err(StateError::Invalid {
            path: path.display().to_string(),
            reason: format!("version {} (this build reads {VERSION})", saved.version),
        });
    }
    let mut engine = saved.engine;
    engine.after_restore();
    replay.restore(saved.replay);
    Ok(engine)
}
