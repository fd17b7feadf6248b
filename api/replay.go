package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

type replayBody struct {
	TenantID   string `json:"tenant_id"`
	EndpointID string `json:"endpoint_id"`
	EventType  string `json:"event_type"`
	Status     string `json:"status"`
	Since      string `json:"since"`
	Until      string `json:"until"`
	DryRun     bool   `json:"dry_run"`
}

type replayJSON struct {
	ID         uuid.UUID       `json:"id"`
	CreatedBy  string          `json:"created_by"`
	Filter     json.RawMessage `json:"filter"`
	Status     string          `json:"status"`
	Matched    int             `json:"matched"`
	Enqueued   int             `json:"enqueued"`
	Done       int             `json:"done"`
	CreatedAt  time.Time       `json:"created_at"`
	FinishedAt *time.Time      `json:"finished_at"`
}

func toReplay(r store.Replay) replayJSON {
	return replayJSON{ID: r.ID, CreatedBy: r.CreatedBy, Filter: rawObject(r.Filter), Status: r.Status, Matched: r.Matched,
		Enqueued: r.Enqueued, Done: r.Done, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt}
}

type dryRunJSON struct {
	Matched int  `json:"matched"`
	DryRun  bool `json:"dry_run"`
}

func (s *server) createReplay(c echo.Context) error {
	var body replayBody
	if err := bind(c, &body); err != nil {
		return err
	}
	var errs []FieldError
	var since, until time.Time
	var endpoint uuid.UUID
	var err error
	if body.Since != "" {
		if since, err = parseTime("since", body.Since); err != nil {
			return err
		}
	}
	if body.Until != "" {
		if until, err = parseTime("until", body.Until); err != nil {
			return err
		}
	}
	if body.EndpointID != "" {
		if endpoint, err = parseID("endpoint_id", body.EndpointID); err != nil {
			return err
		}
	}
	if body.Status != store.DeliveryFailed {
		errs = append(errs, FieldError{Field: "status", Message: "must be \"failed\": only failed deliveries are replayed"})
	}
	if body.Since == "" {
		errs = append(errs, FieldError{Field: "since", Message: "is required: replay failed deliveries created since when?"})
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		errs = append(errs, FieldError{Field: "until", Message: "must be after since"})
	}
	if body.TenantID != "" && !tenantIDPattern.MatchString(body.TenantID) {
		errs = append(errs, FieldError{Field: "tenant_id", Message: "is not a valid tenant id"})
	}
	if body.EventType != "" && !isEventTypeName(body.EventType) {
		errs = append(errs, FieldError{Field: "event_type", Message: "is not an event type name"})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	f := delivery.ReplayFilter{TenantID: body.TenantID, EndpointID: endpoint, EventType: body.EventType,
		Status: body.Status, Since: since, Until: until}
	ctx := c.Request().Context()
	if body.DryRun {
		n, err := s.svc.CountReplay(ctx, f)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, dryRunJSON{Matched: n, DryRun: true})
	}
	r, err := s.svc.StartReplay(ctx, who(c).Name, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, toReplay(r))
}

func (s *server) getReplay(c echo.Context) error {
	id, err := uuid.Parse(c.Param("replay"))
	if err != nil {
		return problem(http.StatusNotFound, "replay "+c.Param("replay")+" not found")
	}
	r, err := s.st.GetReplay(c.Request().Context(), id)
	if err != nil {
		return notFound(err, "replay %s", id)
	}
	return c.JSON(http.StatusOK, toReplay(r))
}

func (s *server) listReplays(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	rows, next, err := s.st.ListReplays(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, toReplay))
}
