#include "raster/tile_metadata.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>

#include "models/errors.hpp"

namespace qinling::raster {
namespace {

std::string num(double v, int digits = 10) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*g", digits, v);
  return b;
}

std::string json_escape(const std::string& t) {
  std::string o;
  for (char c : t) {
    if (c == '"' || c == '\\') o.push_back('\\');
    if (std::uint8_t(c) >= 0x20) o.push_back(c);
  }
  return o;
}

std::string xml_escape(const std::string& t) {
  std::string o;
  for (char c : t) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o.push_back(c);
    }
  }
  return o;
}

const char* kind_name(RampKind k) {
  return k == RampKind::categorical ? "categorical" : k == RampKind::diverging ? "diverging" : "continuous";
}

std::string hex_colour(const Rgba& c) {
  char b[16];
  std::snprintf(b, sizeof b, "#%02x%02x%02x%02x", c[0], c[1], c[2], c[3]);
  return b;
}

}  // namespace

Legend make_legend(const ColourRamp& ramp, const RampRenderer& renderer) {
  Legend l;
  l.ramp = ramp.name;
  l.kind = ramp.kind;
  if (ramp.kind == RampKind::categorical) {
    for (const auto& c : ramp.classes) l.entries.push_back({c.value, c.colour, c.label});
    return l;
  }
  // Nine samples are enough for a CSS gradient to follow the ramp's stops closely.
  constexpr int kSamples = 9;
  for (int i = 0; i < kSamples; ++i) {
    const double v = renderer.min() + (renderer.max() - renderer.min()) * i / (kSamples - 1);
    l.entries.push_back({v, renderer.colour(float(v)), ""});
  }
  return l;
}

std::string legend_json(const Legend& legend) {
  std::ostringstream s;
  s << "{\"ramp\": \"" << json_escape(legend.ramp) << "\", \"kind\": \"" << kind_name(legend.kind)
    << "\", \"entries\": [";
  for (std::size_t i = 0; i < legend.entries.size(); ++i) {
    const auto& e = legend.entries[i];
    s << (i ? ", " : "") << "{\"value\": " << num(e.value) << ", \"colour\": \"" << hex_colour(e.colour)
      << "\", \"label\": \"" << json_escape(e.label) << "\"}";
  }
  s << "]}";
  return s.str();
}

std::string tilejson(const TilesetInfo& info, const std::string& tiles_url) {
  const BBox& b = info.lonlat;
  std::ostringstream s;
  s << "{\n  \"tilejson\": \"3.0.0\",\n  \"name\": \"" << json_escape(info.name) << "\",\n  \"description\": \""
    << json_escape(info.description) << "\",\n  \"attribution\": \"" << json_escape(info.attribution)
    << "\",\n  \"scheme\": \"xyz\",\n  \"tiles\": [\"" << json_escape(tiles_url) << "\"],\n  \"minzoom\": "
    << info.min_zoom << ",\n  \"maxzoom\": " << info.max_zoom << ",\n  \"bounds\": [" << num(b.xmin) << ", "
    << num(b.ymin) << ", " << num(b.xmax) << ", " << num(b.ymax) << "],\n  \"center\": ["
    << num((b.xmin + b.xmax) / 2) << ", " << num((b.ymin + b.ymax) / 2) << ", " << info.min_zoom << "]\n}\n";
  return s.str();
}

std::string wmts_capabilities(const std::vector<WmtsLayer>& layers, const std::string& kvp_url) {
  std::ostringstream s;
  s << R"(<?xml version="1.0" encoding="UTF-8"?>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1"
  xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.opengis.net/wmts/1.0 http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd"
  version="1.0.0">
  <ows:ServiceIdentification>
    <ows:Title>qinling tiles</ows:Title>
    <ows:ServiceType>OGC WMTS</ows:ServiceType>
    <ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>
  </ows:ServiceIdentification>
)";
  if (!kvp_url.empty()) {
    s << "  <ows:OperationsMetadata>\n";
    for (const char* op : {"GetCapabilities", "GetTile"})
      s << "    <ows:Operation name=\"" << op << "\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"" << xml_escape(kvp_url)
        << "\"><ows:Constraint name=\"GetEncoding\"><ows:AllowedValues><ows:Value>KVP</ows:Value>"
           "</ows:AllowedValues></ows:Constraint></ows:Get></ows:HTTP></ows:DCP></ows:Operation>\n";
    s << "  </ows:OperationsMetadata>\n";
  }
  s << "  <Contents>\n";
  std::map<std::string, std::pair<const TileMatrixSet*, std::pair<int, int>>> used;  // id → (set, zoom span)
  for (const auto& l : layers) {
    s << "    <Layer>\n      <ows:Title>" << xml_escape(l.title) << "</ows:Title>\n";
    if (!l.abstract.empty()) s << "      <ows:Abstract>" << xml_escape(l.abstract) << "</ows:Abstract>\n";
    s << "      <ows:WGS84BoundingBox>\n        <ows:LowerCorner>" << num(l.lonlat.xmin) << " " << num(l.lonlat.ymin)
      << "</ows:LowerCorner>\n        <ows:UpperCorner>" << num(l.lonlat.xmax) << " " << num(l.lonlat.ymax)
      << "</ows:UpperCorner>\n      </ows:WGS84BoundingBox>\n      <ows:Identifier>" << xml_escape(l.id)
      << "</ows:Identifier>\n      <Style isDefault=\"true\"><ows:Identifier>default</ows:Identifier></Style>\n"
      << "      <Format>" << tile_mime(l.format) << "</Format>\n";
    for (const auto& m : l.sets) {
      if (m.ranges.empty()) continue;
      auto& u = used[m.tms->id];
      const int zmin = m.ranges.front().z, zmax = m.ranges.back().z;
      u = {m.tms, u.first ? std::pair{std::min(u.second.first, zmin), std::max(u.second.second, zmax)}
                          : std::pair{zmin, zmax}};
      s << "      <TileMatrixSetLink>\n        <TileMatrixSet>" << m.tms->id << "</TileMatrixSet>\n"
        << "        <TileMatrixSetLimits>\n";
      for (const auto& r : m.ranges)
        s << "          <TileMatrixLimits><TileMatrix>" << r.z << "</TileMatrix><MinTileRow>" << r.row0
          << "</MinTileRow><MaxTileRow>" << r.row1 << "</MaxTileRow><MinTileCol>" << r.col0
          << "</MinTileCol><MaxTileCol>" << r.col1 << "</MaxTileCol></TileMatrixLimits>\n";
      s << "        </TileMatrixSetLimits>\n      </TileMatrixSetLink>\n";
    }
    // One template per layer with {TileMatrixSet}: clients (GDAL among them) use the first one.
    std::vector<std::string> templates;
    for (const auto& m : l.sets)
      if (!m.url_template.empty() && std::find(templates.begin(), templates.end(), m.url_template) == templates.end())
        templates.push_back(m.url_template);
    for (const auto& t : templates)
      s << "      <ResourceURL format=\"" << tile_mime(l.format) << "\" resourceType=\"tile\" template=\""
        << xml_escape(t) << "\"/>\n";
    s << "    </Layer>\n";
  }
  for (const auto& [id, v] : used) {
    const TileMatrixSet& t = *v.first;
    s << "    <TileMatrixSet>\n      <ows:Identifier>" << t.id << "</ows:Identifier>\n      <ows:SupportedCRS>"
      << t.crs_urn() << "</ows:SupportedCRS>\n";
    // EPSG:4490's axis order is latitude, longitude: the corner is written "90 -180".
    const std::string corner =
        t.geographic ? num(t.origin_y, 17) + " " + num(t.origin_x, 17) : num(t.origin_x, 17) + " " + num(t.origin_y, 17);
    for (int z = v.second.first; z <= v.second.second; ++z)
      s << "      <TileMatrix>\n        <ows:Identifier>" << z << "</ows:Identifier>\n        <ScaleDenominator>"
        << num(t.scale_denominator(z), 17) << "</ScaleDenominator>\n        <TopLeftCorner>" << corner
        << "</TopLeftCorner>\n        <TileWidth>" << t.tile_size << "</TileWidth>\n        <TileHeight>" << t.tile_size
        << "</TileHeight>\n        <MatrixWidth>" << t.matrix_width(z) << "</MatrixWidth>\n        <MatrixHeight>"
        << t.matrix_height(z) << "</MatrixHeight>\n      </TileMatrix>\n";
    s << "    </TileMatrixSet>\n";
  }
  s << "  </Contents>\n</Capabilities>\n";
  return s.str();
}

std::string tileset_manifest(const WmtsLayer& l) {
  std::ostringstream s;
  s << "{\n  \"name\": \"" << json_escape(l.id) << "\",\n  \"title\": \"" << json_escape(l.title)
    << "\",\n  \"format\": \"" << tile_extension(l.format) << "\",\n  \"bounds\": [" << num(l.lonlat.xmin, 12) << ", "
    << num(l.lonlat.ymin, 12) << ", " << num(l.lonlat.xmax, 12) << ", " << num(l.lonlat.ymax, 12)
    << "],\n  \"matrix_sets\": {";
  for (std::size_t i = 0; i < l.sets.size(); ++i) {
    s << (i ? "," : "") << "\n    \"" << l.sets[i].tms->id << "\": [";
    for (std::size_t k = 0; k < l.sets[i].ranges.size(); ++k) {
      const auto& r = l.sets[i].ranges[k];
      s << (k ? ", " : "") << "[" << r.z << ", " << r.col0 << ", " << r.row0 << ", " << r.col1 << ", " << r.row1 << "]";
    }
    s << "]";
  }
  s << "\n  }";
  // Last, so that the manifest's own keys ("name", "title") are found before any legend text.
  if (l.legend) s << ",\n  \"legend\": " << legend_json(*l.legend);
  s << "\n}\n";
  return s.str();
}

WmtsLayer parse_tileset_manifest(const std::string& text, const std::string& path) {
  // The manifest is ours and flat, so a few regular expressions read it without a JSON library
  // (raster/ does not depend on one).
  WmtsLayer l;
  std::smatch m;
  auto field = [&](const char* key) {
    return std::regex_search(text, m, std::regex(std::string("\"") + key + "\"\\s*:\\s*\"([^\"]*)\"")) ? m[1].str()
                                                                                                      : std::string();
  };
  l.id = field("name");
  l.title = field("title");
  l.format = parse_tile_format(field("format").empty() ? "png" : field("format"));
  if (!std::regex_search(text, m, std::regex(R"("bounds"\s*:\s*\[([^\]]*)\])")))
    throw InputError(path + ": not a qinling tileset manifest (no bounds)");
  std::sscanf(m[1].str().c_str(), "%lf , %lf , %lf , %lf", &l.lonlat.xmin, &l.lonlat.ymin, &l.lonlat.xmax,
              &l.lonlat.ymax);
  const std::regex set_re(R"re("(WebMercatorQuad|CGCS2000Quad)"\s*:\s*\[((?:\s*,?\s*\[[^\]]*\])*)\s*\])re");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), set_re); it != std::sregex_iterator(); ++it) {
    LayerMatrixSet s;
    s.tms = &tile_matrix_set((*it)[1].str());
    const std::string body = (*it)[2].str();
    const std::regex r_re(R"(\[\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\])");
    for (auto r = std::sregex_iterator(body.begin(), body.end(), r_re); r != std::sregex_iterator(); ++r)
      s.ranges.push_back({std::stoi((*r)[1]), std::stoi((*r)[2]), std::stoi((*r)[3]), std::stoi((*r)[4]),
                          std::stoi((*r)[5])});
    l.sets.push_back(std::move(s));
  }
  if (std::regex_search(text, m, std::regex(R"re("legend"\s*:\s*\{\s*"ramp"\s*:\s*"([^"]*)"\s*,\s*"kind"\s*:\s*"(\w+)")re"))) {
    Legend g;
    g.ramp = m[1].str();
    g.kind = m[2].str() == "categorical" ? RampKind::categorical
             : m[2].str() == "diverging" ? RampKind::diverging
                                         : RampKind::continuous;
    const std::string rest = text.substr(std::size_t(m.position(0)));
    const std::regex e_re(R"re(\{"value"\s*:\s*([-+0-9.eE]+|nan|inf)\s*,\s*"colour"\s*:\s*"([^"]*)"\s*,\s*"label"\s*:\s*"([^"]*)"\})re");
    for (auto e = std::sregex_iterator(rest.begin(), rest.end(), e_re); e != std::sregex_iterator(); ++e)
      if (const auto c = parse_colour((*e)[2].str())) g.entries.push_back({std::strtod((*e)[1].str().c_str(), nullptr), *c, (*e)[3].str()});
    l.legend = std::move(g);
  }
  return l;
}

}  // namespace qinling::raster
