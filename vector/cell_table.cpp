#include "vector/cell_table.hpp"

#include <cmath>

#include "models/errors.hpp"

namespace qinling::vector {

int CellTable::find(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name) return int(i);
  return -1;
}

Column& CellTable::add(const std::string& name, Column::Type type) {
  if (find(name) >= 0 || name == id_column)
    throw ConfigError("column '" + name +
                      "' exists already; give the statistic another name (name=stat) or a prefix");
  Column c;
  c.name = name;
  c.type = type;
  if (type == Column::Type::text)
    c.texts.assign(size(), std::string());
  else
    c.numbers.assign(size(), NAN);
  columns.push_back(std::move(c));
  return columns.back();
}

std::vector<std::string> CellTable::column_names() const {
  std::vector<std::string> out;
  for (const auto& c : columns) out.push_back(c.name);
  return out;
}

}  // namespace qinling::vector
