//! Bands: which negatives of a positive pair `(a, p)` a band miner keeps, relative to `d_ap`.
//!
//! A band is the set of triplets `(a, p, n)` whose `d_an` lies between a lower and an upper
//! edge placed at `d_ap` plus an offset (`d` a dissimilarity: smaller is closer). FaceNet's
//! semi-hard triplets are `Above(0)` to `Below(m)`; PML's `TripletMarginMiner("semihard")`
//! is `Above(0)` to `AtMost(m)`; every triplet is `Unbounded` on both sides. Offsets are
//! added to `d_ap` in `f32`, as the tensors do, so a band drawn here selects exactly the
//! triplets the listing miners return.

/// Lower edge of a band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lower {
    /// No lower edge.
    Unbounded,
    /// `d_an > d_ap + offset`.
    Above(f64),
}

/// Upper edge of a band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Upper {
    /// No upper edge.
    Unbounded,
    /// `d_an < d_ap + offset`.
    Below(f64),
    /// `d_an <= d_ap + offset`.
    AtMost(f64),
}

/// The triplets `(a, p, n)` with `d_an` between `lower` and `upper`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Lower edge.
    pub lower: Lower,
    /// Upper edge.
    pub upper: Upper,
}

impl Band {
    /// A band between two edges.
    pub fn new(lower: Lower, upper: Upper) -> Self {
        Self { lower, upper }
    }

    /// Every valid triplet.
    pub fn every() -> Self {
        Self::new(Lower::Unbounded, Upper::Unbounded)
    }

    /// How many of one anchor's negatives, sorted by ascending `values`, lie in the band
    /// of a positive at `d_ap`: the half-open range of their ranks.
    pub(crate) fn ranks(&self, sorted: &[f32], d_ap: f32) -> (usize, usize) {
        let first = match self.lower {
            Lower::Unbounded => 0,
            Lower::Above(offset) => {
                let edge = d_ap + offset as f32;
                sorted.partition_point(|&d_an| d_an <= edge)
            }
        };
        let end = match self.upper {
            Upper::Unbounded => sorted.len(),
            Upper::Below(offset) => strictly_below(sorted, d_ap + offset as f32),
            Upper::AtMost(offset) => {
                let edge = d_ap + offset as f32;
                sorted.partition_point(|&d_an| d_an <= edge)
            }
        };
        (first, end.max(first))
    }
}

/// How many of the ascending `sorted` values are `< edge`.
pub(crate) fn strictly_below(sorted: &[f32], edge: f32) -> usize {
    sorted.partition_point(|&value| value < edge)
}
