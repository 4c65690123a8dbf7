-- by names who moved an environment through the API (POST
-- /v1/environments/{env}/promote or rollback): the API key's name, or the
-- author the request gave. '' for a move observed in the repository, whose
-- only witness is an annotated tag's tagger.
ALTER TABLE ref_moves ADD COLUMN by_actor TEXT NOT NULL DEFAULT '';
