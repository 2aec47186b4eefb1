"""Storage: the models and their migrations, the two engines, the hand-written SQL, the
repository, and the key-change protocol that keeps every process's caches exact."""
