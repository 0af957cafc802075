//! Variables evcxr cannot store as they are: the worker asks rustc for the
//! types rust-analyzer cannot tell (see `type_probe`) and boxes values whose
//! types have no name (see `unnameable`).

use std::borrow::Cow;

use evcxr::EvalCallbacks;
use serde_json::Value;

use crate::engine::outcome::Output;
use crate::engine::run::worker::Worker;
use crate::engine::types::borrows;
use crate::engine::{source::syntax, types::short_names, types::type_probe, types::unnameable};

type EvalResult = Result<evcxr::EvalOutputs, evcxr::Error>;

/// The variable evcxr refused to store, if that is why `result` failed
/// (evcxr says so in a plain message, before compiling).
fn refused(result: &EvalResult) -> Option<unnameable::Unpersistable> {
    match result {
        Err(evcxr::Error::Message(message)) => unnameable::unpersistable(message),
        _ => None,
    }
}

/// The variable evcxr refused to store because its value borrows, if that
/// is why `result` failed.
fn borrowing(result: &EvalResult) -> Option<String> {
    let message = match result {
        Err(evcxr::Error::Message(message)) => message.clone(),
        // evcxr gives a reference's refusal as an error at the `let`.
        Err(evcxr::Error::CompilationErrors(errors)) => {
            return errors.iter().find_map(|e| borrows::borrowing(&e.message()));
        }
        _ => return None,
    };
    borrows::borrowing(&message).or_else(|| {
        let what = unnameable::unpersistable(&message)?;
        what.shown_type?.contains("'_").then_some(what.variable)
    })
}

/// evcxr's refusal to store a variable, after every box was tried, said
/// in the kernel's words: evcxr's own advice (a `Box<dyn Debug>`) is what
/// the kernel already tried.
fn with_unboxable_explained(result: EvalResult) -> EvalResult {
    let Some(what) = refused(&result) else {
        return result;
    };
    let variable = &what.variable;
    let kind = match &what.shown_type {
        // `'_`: a borrow of something the cell made, which ends with it.
        Some(shown) if shown.contains("'_") => {
            return Err(evcxr::Error::Message(format!(
                "The variable `{variable}` cannot be kept for later cells: its type, `{shown}`, \
                 borrows from another value (the `'_`), and a value kept between cells must own \
                 its data.\nCollect what you need into an owned value (`.collect::<Vec<_>>()`, \
                 `.to_owned()`), or wrap the cell in braces to keep the value inside it."
            )));
        }
        Some(shown) => format!("has type `{shown}`, which has no name in Rust"),
        None => "is a closure, whose type has no name in Rust".to_owned(),
    };
    Err(evcxr::Error::Message(format!(
        "The variable `{variable}` {kind}, so it cannot be kept for later cells as it is.\n\
         The kernel keeps such values boxed: as a future, a stream, an iterator, a closure, or a \
         `Box<dyn Trait>` of the trait its type names, and no such box of `{variable}` compiles.\n\
         Give it a type you can name, such as `let {variable}: Box<dyn YourTrait> = Box::new(..);`, \
         or wrap the cell in braces to keep the value inside it."
    )))
}

/// The variable whose `let` got from evcxr a type rustc rejects (a wrong
/// type from rust-analyzer, see `type_probe`): the annotation a mismatch
/// was "expected due to" is one the user did not write, or wrote with `_`
/// placeholders for evcxr to fill; or, where evcxr wrote the type only into
/// its store (`put_variable::<T>(stringify!(x), x)`, a line of its own that
/// evcxr places nowhere in the cell), the variable stored there, as rustc's
/// JSON of the compilation (`rustc`) shows it.
fn mistyped(code: &str, result: &EvalResult, rustc: &[Value]) -> Option<String> {
    let Err(evcxr::Error::CompilationErrors(errors)) = result else {
        return None;
    };
    let annotated = errors
        .iter()
        .filter(|e| e.code() == Some("E0308"))
        .find_map(|e| {
            let annotation = e
                .spanned_messages()
                .iter()
                .find(|m| m.label == "expected due to this")?;
            let (name, written) = syntax::let_on_line(code, annotation.span.as_ref()?.start_line)?;
            written
                .is_none_or(|ty| type_probe::has_placeholder(&ty))
                .then_some(name)
        });
    annotated.or_else(|| {
        let stored = rustc
            .iter()
            .filter(|e| e["code"]["code"] == "E0308")
            .flat_map(|e| e["spans"].as_array().into_iter().flatten())
            .flat_map(|span| span["text"].as_array().into_iter().flatten())
            .filter_map(|line| line["text"].as_str())
            .find_map(|line| {
                let (_, stored) = line.split_once(".put_variable::<")?;
                let (_, name) = stored.split_once("stringify!(")?;
                Some(name[..name.find(')')?].to_owned())
            })?;
        let unannotated = syntax::find_let(code, &stored, false).is_some();
        unannotated.then_some(stored)
    })
}

/// What rustc said of a failed compilation, as `type_probe::qualified`
/// reads it: each error's message with its helps.
fn said(errors: &[evcxr::CompilationError]) -> Vec<(String, Vec<String>)> {
    errors.iter().map(|e| (e.message(), e.help())).collect()
}

/// Variables of one cell the kernel may type by asking rustc (see
/// `type_probe`); each costs a compilation that runs nothing.
const TYPING_TRIES: usize = 8;

/// Compilations the kernel may spend boxing a cell's unnameable values: each
/// try fails before anything runs, and a few variables with a few shapes
/// each stay well within this.
const BOXING_TRIES: usize = 24;

impl Worker {
    /// The cell run with its variables typed and boxed where evcxr needs
    /// that; the code that ran (or failed) with its result.
    pub(crate) fn kept<'a>(
        &mut self,
        code: Cow<'a, str>,
        result: EvalResult,
        callbacks: &mut EvalCallbacks,
    ) -> (Cow<'a, str>, EvalResult) {
        let (code, result) = self.typed(code, result, callbacks);
        let mut tries = BOXING_TRIES;
        let (code, result) = match self.boxed(&code, &result, callbacks, &mut tries) {
            Some((boxed, result)) => (Cow::Owned(boxed), result),
            None => (code, result),
        };
        let (code, result) = self.scoped(code, result, callbacks);
        (code, with_unboxable_explained(result))
    }

    /// The cell run again with its borrowing variables kept inside it, where
    /// evcxr refused to keep them for later cells (see `borrows`).
    fn scoped<'a>(
        &mut self,
        code: Cow<'a, str>,
        mut result: EvalResult,
        callbacks: &mut EvalCallbacks,
    ) -> (Cow<'a, str>, EvalResult) {
        let mut names: Vec<String> = Vec::new();
        let mut ran = code.clone();
        for _ in 0..TYPING_TRIES {
            let Some(name) = borrowing(&result) else {
                break;
            };
            if names.contains(&name) {
                break;
            }
            names.push(name);
            let Some(candidate) = borrows::scoped(&code, &names) else {
                break;
            };
            let attempt = self.context.execute_with_callbacks(&candidate, callbacks);
            (ran, result) = self.typed(Cow::Owned(candidate), attempt, callbacks);
        }
        if result.is_ok() && !names.is_empty() {
            let _ = self.outputs.send(Output::Stderr(borrows::note(&names)));
        }
        (ran, result)
    }

    /// Writes the type rustc finds into the `let` of each variable evcxr
    /// could not type, or typed wrong (see `type_probe`), and runs the cell so.
    fn typed<'a>(
        &mut self,
        mut code: Cow<'a, str>,
        mut result: EvalResult,
        callbacks: &mut EvalCallbacks,
    ) -> (Cow<'a, str>, EvalResult) {
        let mut retyped: Vec<String> = Vec::new();
        for _ in 0..TYPING_TRIES {
            if let Some(next) = self.short_named(&code, &result, &mut retyped, callbacks) {
                (code, result) = (Cow::Owned(next.0), next.1);
                continue;
            }
            let untyped = match &result {
                Err(evcxr::Error::Message(message)) => type_probe::untyped(message),
                _ => None,
            };
            let (variable, alone) = match untyped {
                Some(variable) => (variable.to_owned(), false),
                None => match mistyped(&code, &result, &self.rustc_errors()) {
                    Some(variable) => (variable, true),
                    None => break,
                },
            };
            // A type the kernel wrote itself is not tried twice.
            if retyped.contains(&variable) {
                break;
            }
            let ty = match self.rustc_type(&code, &variable, alone, callbacks) {
                // A `_` rustc leaves is a value that never comes (the output
                // of a task that loops forever): `()` takes it, as a `loop`
                // becomes any type.
                Ok(Some(ty)) => type_probe::fill_placeholders(&ty, "()"),
                Ok(None) => break,
                // The cell's own errors are shown as they were.
                Err(_) if alone => break,
                Err(own_errors) => return (code, own_errors),
            };
            retyped.push(variable.clone());
            if let Some(why) = type_probe::unwritable(&ty) {
                let message = format!(
                    "The variable `{variable}` cannot be kept for later cells: its type is `{ty}`, \
                     and {why}.\nGive it a type you can name (a `Box<dyn Trait>` of the trait you \
                     need), or wrap the cell in braces to keep the value inside it."
                );
                return (code, Err(evcxr::Error::Message(message)));
            }
            let Some((annotated, next)) = self.run_with_type(&code, &variable, &ty, callbacks)
            else {
                break;
            };
            tracing::debug!("typed `{variable}` as `{ty}`");
            (code, result) = (Cow::Owned(annotated), next);
        }
        (code, result)
    }

    /// The cell run with the stored type of a variable that names what the
    /// cell lacks written out (see `short_names`), once a variable.
    fn short_named(
        &mut self,
        code: &str,
        result: &EvalResult,
        retyped: &mut Vec<String>,
        callbacks: &mut EvalCallbacks,
    ) -> Option<(String, EvalResult)> {
        let Err(evcxr::Error::CompilationErrors(_)) = result else {
            return None;
        };
        let (variable, ty) = short_names::stored_type(&self.rustc_errors())?;
        if retyped.contains(&variable) {
            return None;
        }
        retyped.push(variable.clone());
        self.run_with_type(code, &variable, &ty, callbacks)
    }

    /// The type rustc gives `variable` in `code`, asked with a probe that
    /// runs nothing (see `type_probe`), `alone` in a block where evcxr types
    /// no variable; `Err` holds the cell's own errors.
    fn rustc_type(
        &mut self,
        code: &str,
        variable: &str,
        alone: bool,
        callbacks: &mut EvalCallbacks,
    ) -> Result<Option<String>, EvalResult> {
        let probe = if alone {
            type_probe::probe_alone(code, variable)
        } else {
            type_probe::probe(code, variable)
        };
        let Err(evcxr::Error::CompilationErrors(errors)) =
            self.context.execute_with_callbacks(&probe, callbacks)
        else {
            return Ok(None);
        };
        let line = type_probe::probe_line(&probe);
        let (probed, others): (Vec<_>, Vec<_>) = errors.into_iter().partition(|e| {
            e.primary_spanned_message()
                .and_then(|m| m.span)
                .is_some_and(|span| span.start_line == line)
        });
        let found = probed.iter().find_map(|e| {
            let rendered = e.rendered();
            e.spanned_messages()
                .iter()
                .find_map(|m| type_probe::found(&m.label, &rendered))
        });
        let own_errors = others.iter().any(|e| {
            e.level() == "error"
                && e.primary_spanned_message()
                    .is_some_and(|m| m.span.is_some())
        });
        if own_errors && found.is_none() {
            return Err(Err(evcxr::Error::CompilationErrors(others)));
        }
        Ok(found)
    }

    /// Runs `code` with `ty` written into the `let` of `variable`; names
    /// rustc printed short are written as the paths it suggests when the
    /// cell does not have them in scope.
    fn run_with_type(
        &mut self,
        code: &str,
        variable: &str,
        ty: &str,
        callbacks: &mut EvalCallbacks,
    ) -> Option<(String, EvalResult)> {
        let mut ty = ty.to_owned();
        for _ in 0..TYPING_TRIES {
            let annotated = type_probe::annotate(code, variable, &ty)?;
            let result = self.context.execute_with_callbacks(&annotated, callbacks);
            if let Err(evcxr::Error::CompilationErrors(errors)) = &result {
                if let Some(qualified) = type_probe::qualified(&ty, &said(errors)) {
                    ty = qualified;
                    continue;
                }
            }
            return Some((annotated, result));
        }
        None
    }

    /// Boxes the variables evcxr cannot store (see `unnameable`), each with
    /// the first of its shapes that evcxr accepts; when the cell then fails to
    /// compile, the variable whose `let` the error points at (else the last
    /// boxed) moves on to its next shape. Returns the code that ran.
    fn boxed(
        &mut self,
        code: &str,
        result: &EvalResult,
        callbacks: &mut EvalCallbacks,
        tries: &mut usize,
    ) -> Option<(String, EvalResult)> {
        let mut chosen: Vec<(unnameable::Unpersistable, usize)> = Vec::new();
        let mut refusal = Some(refused(result)?);
        let mut retyped = false;
        loop {
            if let Some(what) = refusal.take() {
                match chosen.iter_mut().find(|(w, _)| w.variable == what.variable) {
                    Some((_, shape)) => *shape += 1,
                    None => chosen.push((what, 0)),
                }
            }
            let candidate = unnameable::apply(code, &chosen)?;
            *tries = tries.checked_sub(1)?;
            let attempt = self.context.execute_with_callbacks(&candidate, callbacks);
            if let Some(next) = refused(&attempt) {
                refusal = Some(next);
                continue;
            }
            let Err(evcxr::Error::CompilationErrors(errors)) = &attempt else {
                tracing::debug!("boxed {} variables to keep them", chosen.len());
                return Some((candidate, attempt));
            };
            tracing::debug!(
                "boxes {:?} do not compile: {:?}",
                chosen
                    .iter()
                    .map(|(w, shape)| (&w.variable, shape))
                    .collect::<Vec<_>>(),
                errors.iter().map(|e| e.message()).collect::<Vec<_>>()
            );
            // A box that does not fit fails to compile: nothing ran.
            // rust-analyzer may call an output `!` that rustc types
            // otherwise (a `select!`): rustc's own type may fit.
            let never = chosen
                .iter()
                .find(|(w, _)| w.shown_type.as_deref().is_some_and(|t| t.contains('!')));
            if let (Some((what, _)), false) = (never, retyped) {
                retyped = true;
                let variable = what.variable.clone();
                if let Some(found) = self.retyped(&candidate, &variable, callbacks, tries) {
                    return Some(found);
                }
            }
            // A trait rust-analyzer names short (`impl Debug`) that the
            // cell has not imported: written as rustc's suggested path.
            let said = said(errors);
            let mut named = false;
            for (what, _) in &mut chosen {
                let shown = what.shown_type.as_deref().unwrap_or_default();
                if let Some(path) = type_probe::qualified(shown, &said) {
                    what.shown_type = Some(path);
                    named = true;
                }
            }
            if named {
                continue;
            }
            // A value moved on before the cell's end cannot be boxed there.
            let moved = chosen.iter().rposition(|(w, _)| {
                let moved = format!("use of moved value: `{}`", w.variable);
                errors.iter().any(|e| e.message() == moved)
            });
            if let Some(index) = moved {
                chosen[index].1 = unnameable::next_at_let(code, &chosen, index);
                continue;
            }
            let lines: Vec<usize> = errors
                .iter()
                .filter_map(|e| e.primary_spanned_message()?.span.map(|s| s.start_line))
                .collect();
            let culprit = chosen
                .iter()
                .rposition(|(w, _)| {
                    unnameable::let_line(&candidate, &w.variable)
                        .is_some_and(|l| lines.contains(&l))
                })
                .unwrap_or(chosen.len() - 1);
            chosen[culprit].1 += 1;
        }
    }

    /// A boxing `candidate` with the type rustc gives `variable` written in,
    /// if that runs.
    fn retyped(
        &mut self,
        candidate: &str,
        variable: &str,
        callbacks: &mut EvalCallbacks,
        tries: &mut usize,
    ) -> Option<(String, EvalResult)> {
        *tries = tries.checked_sub(1)?;
        let ty = self
            .rustc_type(candidate, variable, false, callbacks)
            .ok()??;
        tracing::debug!("rustc types the boxed `{variable}` as `{ty}`");
        let (code, result) = self.run_with_type(candidate, variable, &ty, callbacks)?;
        match refused(&result) {
            Some(_) => self.boxed(&code, &result, callbacks, tries),
            None if matches!(result, Err(evcxr::Error::CompilationErrors(_))) => None,
            None => Some((code, result)),
        }
    }
}
