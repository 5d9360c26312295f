//! `riskcensus`: turns natural-disaster risk census returns into a validated, map-ready risk
//! database. See the README for the commands and exit codes.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a census file is millions of small strings; the system allocator spent a third of
/// the time in malloc/free (perf, BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod commands;

/// mimalloc's `mi_option_purge_delay` (the enum `mi_option_e` of `mimalloc.h`, v2 and v3; the
/// `libmimalloc-sys` crate does not name it). The test below checks it against v3's default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Milliseconds mimalloc keeps freed memory before it returns it to the OS, for `run`. With its
/// v3 default, 1,000 ms, each batch's freed memory was still resident while the next batch, then
/// the national village table, was built. National run on tmpfs: 1,785–1,858 MiB with the default,
/// 1,644–1,656 MiB with 50 ms in the same 31–33 s (10 ms: 1,621–1,630 MiB but ≈ 1.3 s slower; 0 ms:
/// ≈ 5 s slower). `validate` keeps the default: it builds no table after its batches, and 50 ms
/// cost it ≈ 0.6 s of system time for 55 MiB less (BENCHMARKS.md before 2026-12-06, seventh pass: git history).
const RUN_PURGE_DELAY_MS: std::os::raw::c_long = 50;

/// Set [`RUN_PURGE_DELAY_MS`] unless `MIMALLOC_PURGE_DELAY` is set (the environment still wins).
fn return_freed_memory_promptly() {
    // SAFETY: `mi_option_set_default` stores a value in mimalloc's option table; it is not
    // thread-safe, and this runs in `main` before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, RUN_PURGE_DELAY_MS);
    }
}

/// Have Linux back this process's memory with 4 KiB pages only. mimalloc v3 advises its arenas
/// for transparent huge pages (`MADV_HUGEPAGE`), so a fault zeroed 2 MiB at once and a purge of
/// part of a huge page split it: clearing pages was 12–24 % of a 1 M-row validation's samples
/// (`perf`). Same build with and without this call, two runs each, national census: validation
/// 15.3 / 15.7 s → 15.1 / 14.6 s, system time 3.2–3.9 s → 1.8–2.0 s, peak 1,168–1,177 MiB →
/// 1,127–1,142 MiB, report identical; run (tmpfs) 32.9–35.2 s → 33.8–34.9 s, peak 1,653–1,659 MiB
/// → 1,559 MiB (BENCHMARKS.md before 2026-12-06, eighth pass: git history).
///
/// mimalloc's own switch, `MIMALLOC_ALLOW_THP=0`, is read when the process starts, before `main`,
/// and its first arena is advised by then; `PR_SET_THP_DISABLE` covers it from its next fault.
fn use_small_pages_only() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `prctl` with `PR_SET_THP_DISABLE` only sets a flag of this process's memory
        // map; no pointer is passed. A failure (an old kernel) leaves huge pages on, which is
        // only slower.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

fn main() -> ExitCode {
    use_small_pages_only();
    let args = args::Args::parse();
    if matches!(args.command, args::Command::Run { .. }) {
        return_freed_memory_promptly();
    }
    commands::dispatch(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The switch is on once the call returns (fails if the call is dropped or the flag wrong).
    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_off_after_the_call() {
        use_small_pages_only();
        #[allow(unsafe_code)]
        // SAFETY: reads a flag of this process's memory map; no pointer is passed.
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }

    /// Option 15 is the purge delay: mimalloc v3 defaults it to 1,000 ms, which no neighbouring
    /// option has. (Fails if `mimalloc.h` renumbers its options.)
    #[test]
    fn option_15_is_mimallocs_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some()
            || std::env::var_os("MIMALLOC_RESET_DELAY").is_some()
        {
            return;
        }
        #[allow(unsafe_code)]
        // SAFETY: reads mimalloc's option table; nothing in this test process sets options.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1_000);
    }
}
