// The marketplace: the miners behind open offers, the offers (models, region, capacity,
// price), bids and aggregate stats; live from the public marketplace topic.

import { api, page } from "../api.js";
import { EventStream } from "../sse.js";
import { h, notice, replace, short, when } from "../dom.js";

const PAGE_SIZE = 50;

export function render(root, route, ctx) {
  const stats = h("div", { id: "market-stats", class: "grid" });
  const miners = h("tbody", { id: "miner-rows" });
  const offers = h("tbody", { id: "offer-rows" });
  const bids = h("tbody", { id: "bid-rows" });
  const message = h("div", { id: "market-message" });
  const status = h("span", { class: "live", id: "live-status" });
  const model = h("input", {
    id: "offer-model",
    placeholder: "model",
    value: route.params.get("model") || "",
  });
  const region = h("input", {
    id: "offer-region",
    placeholder: "region",
    value: route.params.get("region") || "",
  });
  const filter = h(
    "form",
    { class: "toolbar" },
    h("strong", {}, "Offers"),
    model,
    region,
    h("button", { type: "submit" }, "Filter"),
  );
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    if (model.value.trim()) q.set("model", model.value.trim());
    if (region.value.trim()) q.set("region", region.value.trim());
    location.hash = `#/marketplace${q.toString() ? "?" + q : ""}`;
  });
  let stopped = false;
  let pending = null;

  const table = (id, headers, tbody) =>
    h(
      "table",
      { id },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((x) => h("th", {}, x)),
        ),
      ),
      tbody,
    );
  replace(
    root,
    h("div", { class: "toolbar" }, h("h2", { class: "grow" }, "Marketplace"), status),
    stats,
    message,
    h("h3", {}, "Live miners (providers of open offers)"),
    table(
      "miners-table",
      ["Miner", "Open offers", "Capacity", "Models", "Regions", "Cheapest"],
      miners,
    ),
    filter,
    table(
      "offers-table",
      ["Offer", "Miner", "Models", "Region", "Capacity", "Price / unit", "GPU GB", "Created"],
      offers,
    ),
    h(
      "h3",
      {},
      ctx.me.role === "client"
        ? "Your bids"
        : ctx.me.role === "miner"
          ? "Bids on your offers"
          : "Bids",
    ),
    table(
      "bids-table",
      ["Bid", "Offer", "Client", "Units", "Price / unit", "State", "Created"],
      bids,
    ),
  );

  function stat(label, value) {
    return h(
      "section",
      { class: "card" },
      h("div", { class: "muted" }, label),
      h("div", { class: "big", dataset: { stat: label } }, value === null ? "—" : String(value)),
    );
  }

  async function load() {
    try {
      const params = { model: route.params.get("model"), region: route.params.get("region") };
      const [st, of, bd] = await Promise.all([
        api("/v1/marketplace/stats"),
        page("/v1/marketplace/offers", { limit: PAGE_SIZE, params }),
        page("/v1/marketplace/bids", { limit: PAGE_SIZE }),
      ]);
      if (stopped) return;
      replace(
        stats,
        stat("Open offers", st.open_offers),
        stat("Open capacity", st.open_capacity),
        stat("Active bids", st.active_bids),
        stat(
          "Price range",
          st.min_price === null ? null : `${st.min_price} – ${st.max_price} (avg ${st.avg_price})`,
        ),
        stat("Models", Object.keys(st.models).join(", ") || null),
      );
      replace(
        offers,
        of.items.map((o) =>
          h(
            "tr",
            { dataset: { offerId: o.id } },
            h("td", { class: "mono" }, short(o.id)),
            h("td", { class: "mono" }, short(o.provider_id)),
            h("td", {}, o.models.join(", ") || "any"),
            h("td", {}, o.region || "any"),
            h("td", {}, String(o.capacity)),
            h("td", {}, o.price_per_unit),
            h("td", {}, String(o.gpu_memory_gb)),
            h("td", {}, when(o.created_at)),
          ),
        ),
      );
      if (of.next_cursor)
        offers.appendChild(
          h(
            "tr",
            {},
            h(
              "td",
              { colspan: 8, class: "muted" },
              `Showing the newest ${PAGE_SIZE}; filter to narrow.`,
            ),
          ),
        );
      const byMiner = new Map();
      for (const o of of.items) {
        const m = byMiner.get(o.provider_id) || {
          offers: 0,
          capacity: 0,
          models: new Set(),
          regions: new Set(),
          cheapest: null,
        };
        m.offers += 1;
        m.capacity += o.capacity;
        o.models.forEach((x) => m.models.add(x));
        m.regions.add(o.region || "any");
        const price = Number(o.price_per_unit);
        if (m.cheapest === null || price < Number(m.cheapest)) m.cheapest = o.price_per_unit;
        byMiner.set(o.provider_id, m);
      }
      replace(
        miners,
        [...byMiner].map(([id, m]) =>
          h(
            "tr",
            { dataset: { minerId: id } },
            h("td", { class: "mono" }, id),
            h("td", {}, String(m.offers)),
            h("td", {}, String(m.capacity)),
            h("td", {}, [...m.models].join(", ") || "any"),
            h("td", {}, [...m.regions].join(", ")),
            h("td", {}, m.cheapest),
          ),
        ),
      );
      replace(
        bids,
        bd.items.map((b) =>
          h(
            "tr",
            { dataset: { bidId: b.id } },
            h("td", { class: "mono" }, short(b.id)),
            h("td", { class: "mono" }, short(b.offer_id)),
            h("td", { class: "mono" }, short(b.client_id)),
            h("td", {}, String(b.units)),
            h("td", {}, b.price_per_unit),
            h("td", {}, b.state),
            h("td", {}, when(b.created_at)),
          ),
        ),
      );
      replace(message);
    } catch (err) {
      replace(message, notice("error", err.message));
    }
  }

  // Coalesce bursts of marketplace events into one reload.
  function soon() {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      load();
    }, 200);
  }

  load();
  const stream = new EventStream(["marketplace"], soon, {
    onStatus: (st, detail) => {
      status.classList.toggle("on", st === "live");
      status.textContent = st === "live" ? "live" : `${st} ${detail}`;
      if (st === "gap") load();
    },
  });
  return () => {
    stopped = true;
    stream.stop();
    if (pending) clearTimeout(pending);
  };
}
