//! TEMPORARY stub until the fleet screen lands.
use ratatui::Frame;
pub fn draw(frame: &mut Frame, view: &crate::fleet::view::FleetView, _theme: &crate::theme::Theme) {
    let text: Vec<String> =
        view.visible().iter().map(|r| format!("{} {} {:?}", r.name, r.phase.word(), r.step)).collect();
    frame.render_widget(ratatui::widgets::Paragraph::new(text.join("\n")), frame.area());
}
pub fn list_height(rows: u16) -> usize {
    usize::from(rows.saturating_sub(4))
}
