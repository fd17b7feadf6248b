# syntax=docker/dockerfile:1
# hookd in a container: `docker compose up` (see docker-compose.yml), or
#   docker build -t hookd . && docker run -e DATABASE_URL=... -e HOOKD_ADMIN_KEY=... -e HOOKD_SECRET_KEY=... -p 8080:8080 hookd

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hookd ./cmd/hookd

# Static binary on distroless: CA certificates and tzdata, no shell, not root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hookd /usr/local/bin/hookd
USER nonroot:nonroot
ENV HOOKD_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hookd"]
CMD ["serve", "--role", "all"]
