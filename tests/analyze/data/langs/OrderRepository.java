package com.acme.orders;

import java.io.IOException;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * Loads and stores orders in a relational database.
 */
@Repository
public class OrderRepository<K extends Comparable<K>> implements AutoCloseable {
    private final DataSource dataSource;
    private final int batchSize;

    public OrderRepository(DataSource dataSource) {
        this(dataSource, 100);
    }

    public OrderRepository(DataSource dataSource, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batchSize must be positive");
        }
        this.dataSource = dataSource;
        this.batchSize = batchSize;
    }

    // Lookups go through the primary key index.
    @Override
    @Transactional(readOnly = true)
    public Optional<Order> findById(final K id) throws SQLException {
        try (var connection = dataSource.getConnection()) {
            return Optional.ofNullable(mapper.read(connection, id));
        }
    }

    public <R> List<R> findAll(String status, Mapper<Order, R> mapper, int... limits)
            throws SQLException, IOException {
        List<R> result = query(status).stream().map(mapper::apply).toList();
        if (result.isEmpty() && limits.length > 0) {
            throw new IllegalStateException("no orders with status " + status);
        }
        return result;
    }

    void save(Order order, String[] tags, int attempts[]) {
        Runnable task = () -> { throw new UnsupportedOperationException("inside a lambda"); };
        writer.write(order);
    }

    @Override
    public void close() {
        dataSource.close();
    }

    interface Mapper<T, R> {
        R apply(T value);
    }

    record Page(int number, int size) {}

    enum Status {
        OPEN,
        SHIPPED;

        boolean isFinal() {
            return this == SHIPPED;
        }
    }
}
