-- Marks the branches whose index was rewritten before the store marked them
-- itself (issue 7): a version whose commit is no longer in the branch's index
-- was introduced by a commit that a force-push removed. Git cannot give such
-- a version back, so Open must not replace a damaged database that holds one
-- with an index rebuilt from Git. From now on ApplyIndex sets the mark when it
-- drops commits. The value is when the mark was set, in the store's time
-- format.
INSERT INTO meta (key, value)
SELECT 'history_rewritten:' || b.name, strftime('%Y-%m-%dT%H:%M:%S.000000000Z', 'now')
FROM branches b
WHERE EXISTS (
    SELECT 1 FROM versions v WHERE v.branch_id = b.id
        AND NOT EXISTS (SELECT 1 FROM commits c WHERE c.branch_id = v.branch_id AND c.sha = v.commit_sha)
);
