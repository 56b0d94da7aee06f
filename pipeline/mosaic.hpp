// Mosaic inputs (`scenes:` + `mosaic:`): several scenes, each masked by its own QA, composed per
// pixel into one input by a documented rule (first_valid or best_quality).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "pipeline/diagnostics.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/step.hpp"

namespace qinling::pipeline {

// After resolve_inputs: checks every scene has the same bands, gives the mosaic input its band
// names (so steps can say `input: summer`) and fills plan.mosaics with the listed order.
void plan_mosaics(Plan& plan, Diagnostics& diag, ValidationContext& ctx);

// best_quality only: reads each scene's clear pixels over the whole analysis grid once (QA present
// and not masked; without a mask, the first band not nodata) and orders the scenes by clear
// fraction, highest first, ties by listed order. Throws InputError naming a scene it cannot read.
void rank_mosaic_scenes(Plan& plan);

// Adds to `want` the scene band keys that the wanted mosaic band keys are composed from: every
// wanted band of every scene (validity is judged on all of them together).
void expand_mosaic_needs(const Plan& plan, std::set<std::string>& want);

// Composes the mosaic bands of one window from the (already masked) scene bands in `values`: per
// pixel, the first scene in the mosaic's order whose read bands (the quality band aside) are all
// valid gives every band; no such scene gives NaN.
void compose_mosaics(const Plan& plan, std::map<std::string, std::vector<float>>& values, std::size_t n);

}  // namespace qinling::pipeline
