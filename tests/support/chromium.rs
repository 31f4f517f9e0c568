//! Headless Chromium for the report tests: load a page, collect what the
//! browser logs to its console, take a screenshot and decode it.
//!
//! The browser is `CUTOVER_CHROMIUM`, else `chromium` or `chromium-browser`
//! on `PATH`. Missing, it is a loud failure (scripts/test installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one browser run may take.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// The browser to drive.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CUTOVER_CHROMIUM") {
        let path = PathBuf::from(path);
        assert!(super::is_executable(&path), "CUTOVER_CHROMIUM={} is not an executable", path.display());
        return path;
    }
    super::find_on_path("chromium", &[]).or_else(|| super::find_on_path("chromium-browser", &[])).expect(
        "headless Chromium is needed to check the HTML report renders, and neither CUTOVER_CHROMIUM, \
             `chromium` nor `chromium-browser` was found. Install it (Debian/Ubuntu: `apt-get install chromium`) \
             or run scripts/test, which does.",
    )
}

/// What one browser run printed.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The console messages the page caused (`CONSOLE(…)` lines) and failed
    /// loads: a page without errors, scripts or external resources has none.
    pub fn console(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("net::ERR_"))
            .collect()
    }
}

/// Run the browser headless on `page` with extra arguments (a fresh profile,
/// console messages logged to stderr).
pub fn run(page: &Path, args: &[&str]) -> Run {
    let profile = tempfile::tempdir().expect("a temporary browser profile");
    let url = format!("file://{}", page.canonicalize().expect("the page exists").display());
    let out_dir = tempfile::tempdir().expect("a temporary directory");
    let (stdout_path, stderr_path) = (out_dir.path().join("stdout"), out_dir.path().join("stderr"));
    let mut child = Command::new(binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary().display()));
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the browser") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the browser did not finish within {BROWSER_TIMEOUT:?} on {url}:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let run = Run {
        stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
    };
    assert!(status.success(), "the browser failed ({status}) on {url}:\n{}", run.stderr);
    run
}

/// The page's DOM after loading, and the browser's log.
pub fn dump_dom(page: &Path) -> Run {
    run(page, &["--dump-dom"])
}

/// A screenshot of the page's top `width` × `height` pixels.
pub fn screenshot(page: &Path, png: &Path, (width, height): (u32, u32)) -> Run {
    let shot = format!("--screenshot={}", png.display());
    let size = format!("--window-size={width},{height}");
    let run = run(page, &[&shot, &size]);
    assert!(png.exists(), "the browser wrote no screenshot to {}:\n{}", png.display(), run.stderr);
    run
}

/// A decoded RGBA image.
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Image {
    pub fn read(path: &Path) -> Image {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
        let mut buf = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
        let info = reader.next_frame(&mut buf).unwrap_or_else(|e| panic!("decode {}: {e}", path.display()));
        buf.truncate(info.buffer_size());
        let rgba = match info.color_type {
            png::ColorType::Rgba => buf,
            png::ColorType::Rgb => buf.chunks(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
            png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
            png::ColorType::GrayscaleAlpha => buf.chunks(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
            png::ColorType::Indexed => panic!("indexed PNG left unexpanded"),
        };
        Image { width: info.width, height: info.height, rgba }
    }

    /// Every pixel within `tolerance` (per channel) of `rgb`.
    pub fn pixels_near(&self, rgb: (u8, u8, u8), tolerance: u8) -> Vec<(u32, u32)> {
        let near = |a: u8, b: u8| a.abs_diff(b) <= tolerance;
        self.rgba
            .chunks(4)
            .enumerate()
            .filter(|(_, p)| near(p[0], rgb.0) && near(p[1], rgb.1) && near(p[2], rgb.2))
            .map(|(i, _)| {
                let i = u32::try_from(i).expect("image size");
                (i % self.width, i / self.width)
            })
            .collect()
    }

    /// How many distinct colours the image has (a blank page has one or two).
    pub fn colours(&self) -> usize {
        let mut seen: Vec<[u8; 4]> = self.rgba.chunks(4).map(|p| [p[0], p[1], p[2], p[3]]).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

/// Where a report's lag line shows on a screenshot: the pixels of its
/// colour, which no other part of the report uses, spread over more than
/// `min_span` pixels across.
pub fn assert_lag_line_visible(image: &Image, lag_colour: (u8, u8, u8), min_span: u32) {
    let pixels = image.pixels_near(lag_colour, 6);
    assert!(
        pixels.len() > 20,
        "the screenshot ({}x{}, {} colours) shows hardly any pixel of the lag line's colour {lag_colour:?}: {}",
        image.width,
        image.height,
        image.colours(),
        pixels.len()
    );
    let (min_x, max_x) = pixels.iter().fold((u32::MAX, 0), |(lo, hi), &(x, _)| (lo.min(x), hi.max(x)));
    assert!(
        max_x - min_x >= min_span,
        "the lag line's pixels span only x {min_x}..{max_x}: a dot, not a line over the run"
    );
}
