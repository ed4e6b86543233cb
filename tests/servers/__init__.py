"""Server-backend tests: real llama.cpp servers, faults injected with signals."""
