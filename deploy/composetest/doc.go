// Package composetest checks the deployment files at the repository root,
// docker-compose.yml and Dockerfile, against the code they deploy: the
// Compose schema, the TELLYOU_* variables cmd/tellyou/config.go reads, the
// services the nodes reach, and the Go version and package the image builds.
// It holds only tests; Docker is not needed to run them.
package composetest
