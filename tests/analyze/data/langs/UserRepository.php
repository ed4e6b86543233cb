<?php

declare(strict_types=1);

namespace App\Repository;

use App\Entity\User;
use Doctrine\DBAL\Connection;

/**
 * Reads and writes users.
 */
#[AsRepository(table: 'users')]
final class UserRepository implements UserFinder
{
    public function __construct(
        private readonly Connection $connection,
        private string $table = 'users',
    ) {
    }

    public function find(int|string $id, ?array $columns = null): ?User
    {
        $row = $this->connection->fetchAssociative("SELECT * FROM {$this->table} WHERE id = ?", [$id]);
        if ($row === false) {
            return null;
        }
        return User::fromRow($row);
    }

    /**
     * @deprecated use find()
     */
    public function load($id)
    {
        return $this->find($id);
    }

    public function saveAll(User ...$users): int
    {
        foreach ($users as $user) {
            if (!$user->isValid()) {
                throw new \InvalidArgumentException("invalid user {$user->id}");
            }
            $this->connection->insert($this->table, $user->toRow());
        }
        return count($users);
    }

    public static function normalizeEmail(string $email, bool &$changed = false): string
    {
        $normalized = strtolower(trim($email));
        $changed = $normalized !== $email;
        return $normalized;
    }
}

interface UserFinder
{
    public function find(int|string $id, ?array $columns = null): ?User;
}

trait Timestamps
{
    public function touch(): void
    {
        $this->updatedAt = new \DateTimeImmutable();
    }
}

function slugify(string $text, string $separator = '-'): string
{
    $mapper = fn (string $c): string => ctype_alnum($c) ? $c : $separator;
    return implode('', array_map($mapper, str_split(strtolower($text))));
}
