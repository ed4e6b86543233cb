#pragma once

#include <cstddef>
#include <stdexcept>
#include <vector>

namespace geo {
namespace detail {
inline std::size_t index(std::size_t x, std::size_t y, std::size_t width) { return y * width + x; }
}  // namespace detail

/// A dense two-dimensional grid of cells.
///
/// Cells are stored row by row.
template <typename T, std::size_t Padding = 0>
class Grid {
public:
    explicit Grid(std::size_t width, std::size_t height, const T& fill = T{});
    ~Grid();

    /** Returns the cell at (x, y). */
    T& at(std::size_t x, std::size_t y);
    const T& at(std::size_t x, std::size_t y) const;

    [[nodiscard]] std::size_t width() const noexcept { return width_; }

    template <typename F>
    void for_each(F&& visit) {
        for (auto& cell : cells_) {
            visit(cell);
        }
    }

private:
    std::size_t width_;
    std::size_t height_;
    std::vector<T> cells_;
};

template <typename T, std::size_t Padding>
T& Grid<T, Padding>::at(std::size_t x, std::size_t y) {
    if (x >= width_ || y >= height_) {
        throw std::out_of_range("cell outside the grid");
    }
    return cells_[detail::index(x, y, width_)];
}

struct Point {
    int x;
    int y;
};

double distance(const Point& a, const Point& b);

auto manhattan(const Point& a, const Point& b) -> int;

}  // namespace geo
