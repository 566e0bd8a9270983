-- The clocks' hook runs with every action and looks up the open clocks of the action's subjects
-- (console/areas/clocks/actions.py, `track`). The only index on open clocks led with the
-- milestone, so that lookup read every clock ever kept: a cost that grew with the service's
-- history (a third of a millisecond at 2,400 clocks, read whole). Open clocks by subject: ten
-- buffers instead of three hundred at that size, and no growth with the years.
CREATE INDEX clocks_open_subject_idx ON clocks (kind, subject_id)
    WHERE state IN ('running', 'paused', 'breached');
