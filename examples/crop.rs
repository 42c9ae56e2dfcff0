//! Cut a rectangle out of an image (kept in colour) — how the README's templates were made.
//!
//! ```text
//! cargo run --example crop -- IN.png ROW COL HEIGHT WIDTH OUT.png
//! ```

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, row, col, height, width, output] = args.as_slice() else {
        return Err("usage: crop IN.png ROW COL HEIGHT WIDTH OUT.png".into());
    };
    let image = image::open(input)?;
    let (row, col, height, width) = (row.parse()?, col.parse()?, height.parse()?, width.parse()?);
    image.crop_imm(col, row, width, height).save(output)?;
    Ok(())
}
