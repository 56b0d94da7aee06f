// Sensor profiles (configs/sensors/*.yaml): band names and numbers, scaling to physical units,
// and the quality band's encoding, so a job can say `sensor: landsat89_c2l2, mask: [cloud]`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/qa_mask.hpp"

namespace qinling::pipeline {

struct SensorBand {
  int band = 0;          // band number in a stacked file (0: only from a per-band file)
  double scale = 1.0;    // physical = DN * scale + offset
  double offset = 0.0;
  std::string resampling;  // empty: the input's; "nearest" for QA/class bands
};

struct SensorProfile {
  std::string name, description, file;
  int band_count = 0;  // bands a stacked file must have (0: not checked)
  std::map<std::string, SensorBand> bands;
  std::string qa_band;                            // name of the quality band (empty: none)
  std::string qa_encoding;                        // "bits" or "classes"
  std::map<std::string, std::vector<int>> flags;  // mask name → bits or class values
  // Tasseled-cap components (brightness, greenness, wetness) → band name → coefficient, for
  // reflectance bands; `tasseled_cap_source` cites where the coefficients come from.
  std::map<std::string, std::map<std::string, double>> tasseled_cap;
  std::string tasseled_cap_source;
  // The mask for a list of flag names; names not in `flags` are returned in `unknown`.
  models::QaMask mask_for(const std::vector<std::string>& names, std::vector<std::string>& unknown) const;
};

// Finds a profile by name (configs/sensors/NAME.yaml, searched in $QINLING_CONFIG_DIR, then the
// project's configs/) or by path (relative to `base_dir`), and loads it; throws ConfigError with
// file:line problems.
SensorProfile load_sensor_profile(const std::string& name_or_path, const std::string& base_dir);
// Names of the profiles available in the searched folders.
std::vector<std::string> sensor_profile_names();

// The folder holding the project's example configuration (`configs/`).
std::string config_dir();

}  // namespace qinling::pipeline
