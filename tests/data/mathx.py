def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(high, value))


def documented(x: int) -> int:
    """Return x unchanged."""
    return x


def one_liner(x): return x
