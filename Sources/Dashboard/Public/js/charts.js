// Line charts on a canvas: one series, its range on the axis, the latest value labelled. Amounts
// arrive as decimal strings; they are turned into numbers here only to place pixels.

export function drawLineChart(canvas, points, { label, color, fill = false }) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 400;
  const height = canvas.clientHeight || Number(canvas.getAttribute("height")) || 120;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.documentElement);
  const text = style.getPropertyValue("--muted").trim();
  const stroke = style.getPropertyValue(color).trim();
  context.font = "11px system-ui, sans-serif";
  context.fillStyle = text;
  if (points.length < 2) {
    context.fillText(`${label}: not enough history yet`, 8, height / 2);
    return;
  }
  const values = points.map((point) => Number(point.value));
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high === low) {
    high += 1;
    low -= 1;
  }
  const left = 64;
  const right = width - 8;
  const top = 14;
  const bottom = height - 14;
  const x = (index) => left + ((right - left) * index) / (points.length - 1);
  const y = (value) => bottom - ((bottom - top) * (value - low)) / (high - low);
  // Enough decimals that the two ends of the axis differ.
  const decimals = Math.min(8, Math.max(0, Math.ceil(-Math.log10(high - low)) + 1));
  context.fillText(high.toFixed(decimals), 4, top + 4);
  context.fillText(low.toFixed(decimals), 4, bottom);
  context.fillText(`${label} ${points[points.length - 1].value}`, left, 10);
  context.beginPath();
  values.forEach((value, index) => (index === 0 ? context.moveTo(x(index), y(value)) : context.lineTo(x(index), y(value))));
  context.strokeStyle = stroke;
  context.lineWidth = 1.5;
  context.stroke();
  if (fill) {
    context.lineTo(x(values.length - 1), bottom);
    context.lineTo(x(0), bottom);
    context.closePath();
    context.globalAlpha = 0.15;
    context.fillStyle = stroke;
    context.fill();
    context.globalAlpha = 1;
  }
}
