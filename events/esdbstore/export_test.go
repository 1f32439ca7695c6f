package esdbstore

// The pure mappings, for the black-box tests.
var (
	ExpectedRevision = expectedRevision
	VersionOf        = versionOf
	RevisionOf       = revisionOf
	PositionOf       = positionOf
	AllPositionFrom  = allPositionFrom
	Beyond           = beyond
	IsCode           = isCode
	MatchRun         = matchRun
)
