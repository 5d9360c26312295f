//! Coordinate reference systems of inputs, and reprojection to CGCS2000 (EPSG:4490) with
//! [`proj4rs`].

use geo_types::MultiPolygon;

use crate::LocateError;

/// A coordinate reference system of an input.
#[derive(Debug, Clone)]
pub struct Crs {
    epsg: u16,
    proj: proj4rs::Proj,
}

impl Crs {
    /// Parse `EPSG:NNNN`.
    pub fn parse(text: &str) -> Result<Self, LocateError> {
        let code: u16 = text
            .trim()
            .to_ascii_uppercase()
            .strip_prefix("EPSG:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| LocateError::UnknownCrs(text.to_string()))?;
        let supported = matches!(code, 4490 | 4326 | 4491..=4554);
        if !supported {
            return Err(LocateError::UnknownCrs(text.to_string()));
        }
        let proj = proj4rs::Proj::from_epsg_code(code)
            .map_err(|_| LocateError::UnknownCrs(text.to_string()))?;
        Ok(Crs { epsg: code, proj })
    }

    /// EPSG:4490.
    pub fn cgcs2000() -> Self {
        Crs::parse("EPSG:4490").unwrap_or_else(|_| unreachable!("EPSG:4490 is built in"))
    }

    /// The EPSG code.
    pub fn epsg(&self) -> u16 {
        self.epsg
    }

    /// Whether coordinates are longitude/latitude degrees.
    pub fn is_geographic(&self) -> bool {
        self.proj.is_latlong()
    }

    /// Reproject one coordinate to EPSG:4490 longitude/latitude degrees. Geographic CGCS2000 and
    /// WGS 84 are taken as equal (they differ by well under a metre).
    pub fn to_cgcs2000(&self, x: f64, y: f64) -> Result<(f64, f64), LocateError> {
        if self.is_geographic() {
            return Ok((x, y));
        }
        let target = Crs::cgcs2000();
        let mut p = (x, y, 0.0);
        proj4rs::transform::transform(&self.proj, &target.proj, &mut p).map_err(|e| {
            LocateError::Reproject {
                crs: format!("EPSG:{}", self.epsg),
                message: e.to_string(),
            }
        })?;
        Ok((p.0.to_degrees(), p.1.to_degrees()))
    }

    /// Reproject polygons to EPSG:4490.
    pub fn polygons_to_cgcs2000(
        &self,
        mp: MultiPolygon<f64>,
    ) -> Result<MultiPolygon<f64>, LocateError> {
        if self.is_geographic() {
            return Ok(mp);
        }
        use geo::MapCoords;
        mp.try_map_coords(|c| {
            self.to_cgcs2000(c.x, c.y)
                .map(|(x, y)| geo_types::coord! { x: x, y: y })
        })
    }

    /// Project EPSG:4490 degrees into this CRS (for tests and sample generation).
    pub fn from_cgcs2000(&self, lon: f64, lat: f64) -> Result<(f64, f64), LocateError> {
        if self.is_geographic() {
            return Ok((lon, lat));
        }
        let source = Crs::cgcs2000();
        let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(&source.proj, &self.proj, &mut p).map_err(|e| {
            LocateError::Reproject {
                crs: format!("EPSG:{}", self.epsg),
                message: e.to_string(),
            }
        })?;
        Ok((p.0, p.1))
    }
}
