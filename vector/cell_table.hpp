// The supervision grid as a table: one row per cell (stable ID, polygon, typed columns), passed
// in memory from one product step to the next and written as GeoPackage / GeoJSON / CSV.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vector/shape.hpp"

namespace qinling::vector {

struct Column {
  enum class Type { integer, real, text };
  std::string name;
  Type type = Type::real;
  std::vector<double> numbers;     // integer and real columns (NaN: null)
  std::vector<std::string> texts;  // text columns
};

struct CellTable {
  std::string crs_wkt;  // of the shapes
  std::shared_ptr<const std::vector<std::string>> ids;
  std::shared_ptr<const std::vector<Shape>> shapes;  // shared by every table derived from the grid
  std::string id_column = "cell_id";
  std::vector<Column> columns;

  std::size_t size() const { return ids ? ids->size() : 0; }
  // Index of a column, -1 when absent.
  int find(const std::string& name) const;
  // Appends a column filled with NaN / empty strings; throws ProcessingError when the name exists.
  Column& add(const std::string& name, Column::Type type);
  std::vector<std::string> column_names() const;
};

}  // namespace qinling::vector
