// A virtually scrolled list: only the rows in view (and a few beyond) exist in the DOM, so ten
// thousand positions scroll as smoothly as ten.

export class VirtualList {
  constructor(container, { rowHeight, renderRow }) {
    this.container = container;
    this.rowHeight = rowHeight;
    this.renderRow = renderRow;
    this.items = [];
    this.spacer = document.createElement("div");
    this.spacer.style.height = "0px";
    container.appendChild(this.spacer);
    this.rows = new Map(); // index -> element
    container.addEventListener("scroll", () => this.draw(), { passive: true });
    container.addEventListener("keydown", (event) => {
      const page = container.clientHeight - rowHeight;
      const moves = { ArrowDown: rowHeight, ArrowUp: -rowHeight, PageDown: page, PageUp: -page };
      if (event.key in moves) {
        container.scrollTop += moves[event.key];
        event.preventDefault();
      } else if (event.key === "Home" || event.key === "End") {
        container.scrollTop = event.key === "Home" ? 0 : container.scrollHeight;
        event.preventDefault();
      }
    });
  }

  setItems(items) {
    this.items = items;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    this.container.setAttribute("aria-rowcount", String(items.length));
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
    this.draw();
  }

  draw() {
    const { scrollTop, clientHeight } = this.container;
    const first = Math.max(0, Math.floor(scrollTop / this.rowHeight) - 5);
    const last = Math.min(this.items.length, Math.ceil((scrollTop + clientHeight) / this.rowHeight) + 5);
    for (const [index, row] of this.rows) {
      if (index < first || index >= last) {
        row.remove();
        this.rows.delete(index);
      }
    }
    for (let index = first; index < last; index += 1) {
      if (this.rows.has(index)) continue;
      const row = this.renderRow(this.items[index], index);
      row.style.top = `${index * this.rowHeight}px`;
      row.setAttribute("role", "row");
      row.setAttribute("aria-rowindex", String(index + 1));
      this.container.appendChild(row);
      this.rows.set(index, row);
    }
  }

  get renderedRows() {
    return this.rows.size;
  }
}
