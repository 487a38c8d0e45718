//! Writes every photo under a folder as the 8-bit gray PNG that mien's Haar engine sees
//! (decoded by the `image` crate, converted with OpenCV's BGR2GRAY formula), so that
//! `tools/haar_reference.py --gray-dir` can run OpenCV on exactly the same pixels.
//!
//! `cargo run --release -p mien-detect --example export_gray -- ../shared/faces_wild /tmp/mien_gray`
//! (the output is derived from research photos: keep it out of the repository).

use std::path::Path;

use mien_detect::haar::opencv_gray;

fn visit(root: &Path, dir: &Path, out: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let mut written = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            written += visit(root, &path, out)?;
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !["jpg", "jpeg", "png"].contains(&ext.to_ascii_lowercase().as_str()) {
            continue;
        }
        let relative = path.strip_prefix(root)?;
        let target = out.join(relative).with_extension("png");
        std::fs::create_dir_all(target.parent().expect("a file has a parent"))?;
        opencv_gray(&image::open(&path)?).save(&target)?;
        written += 1;
    }
    Ok(written)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, out] = args.as_slice() else {
        return Err("usage: export_gray <photo folder> <output folder>".into());
    };
    let written = visit(Path::new(data), Path::new(data), Path::new(out))?;
    println!("wrote {written} gray images to {out}");
    Ok(())
}
