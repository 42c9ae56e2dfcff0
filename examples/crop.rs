//! Cut a rectangle out of an image — how the README's templates and signals were made.
//!
//! ```text
//! cargo run --example crop -- IN.png ROW COL HEIGHT WIDTH OUT.png   # a crop, in colour
//! cargo run --example crop -- IN.png ROW COL 1 WIDTH OUT.npy        # one grey row, as a
//!                                                                   # zero-mean 1-D signal
//! ```

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, row, col, height, width, output] = args.as_slice() else {
        return Err("usage: crop IN.png ROW COL HEIGHT WIDTH OUT.png|OUT.npy".into());
    };
    let image = image::open(input)?;
    let (row, col, height, width): (u32, u32, u32, u32) =
        (row.parse()?, col.parse()?, height.parse()?, width.parse()?);
    let crop = image.crop_imm(col, row, width, height);
    if output.ends_with(".npy") {
        if height != 1 {
            return Err("a .npy output is one row: HEIGHT must be 1".into());
        }
        // Zero mean: an unnormalised correlation of positive signals peaks where they are
        // brightest, not where they match.
        let grey = crop.to_luma32f().into_raw();
        let mean = grey.iter().sum::<f32>() / grey.len() as f32;
        let signal = xcorr::Array::from_vec(grey.iter().map(|v| v - mean).collect());
        xcorr::io::write_npy(std::fs::File::create(output)?, &signal)?;
    } else {
        crop.save(output)?;
    }
    Ok(())
}
