package sqlite

// Health returns nil while the store has seen nothing wrong with its file,
// and otherwise why not, without touching the file: an EUNAVAILABLE error
// with ErrUnwritable in its chain when the last write failed because the
// file could not be written; it goes with the next write that succeeds.
func (s *Store) Health() error {
	if u := s.unwritable.Load(); u != nil {
		return u
	}
	return nil
}
